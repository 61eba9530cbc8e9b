"""A result as Markdown, from the result alone (no registry): its size, key, time and device,
its numbers beside the reference's, and its claims. The report (`report`) and a notebook's view
of a `Result` both use it.

Text that comes from a stored result (labels, claims, evidence, device names, changed settings)
is escaped: it reads as written and never becomes markup (headings, links, images, HTML, table
cells)."""

from __future__ import annotations

import math
import re
from typing import TYPE_CHECKING

__all__ = ["describe_key", "describe_size", "escape", "judged", "numbers_and_claims", "seconds",
           "size"]

if TYPE_CHECKING:  # the result module imports this one when a notebook shows a result
    from .result import Number, Result


def describe_key(key) -> str:
    """A stored key's data as a reader knows it: `jax.random.key(N)` for the keys that call makes,
    else the data."""
    data = list(key)
    return f"jax.random.key({data[-1]})" if len(data) == 2 and data[0] == 0 else f"key data {data}"


def describe_size(size: str, changes: dict) -> str:
    """A size as the report names it: "quick", or "quick with seeds=1, steps=20"."""
    if not changes:
        return size
    return f"{size} with " + ", ".join(f"{k}={v!r}" for k, v in changes.items())


_MARKUP = re.compile(r"([\\`*_{}\[\]#!|~])")
_SPACE = re.compile(r"\s+")


def escape(text: str) -> str:
    """`text` as Markdown that renders it literally, on one line: white space (newlines
    included) folded to single spaces, Markdown's punctuation backslash-escaped, `&`, `<` and `>`
    as HTML entities."""
    text = _SPACE.sub(" ", str(text)).strip()
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _MARKUP.sub(r"\\\1", text)


def seconds(value) -> str:
    """A duration as the report shows it ("-" for None)."""
    if value is None:
        return "-"
    return f"{value:.0f} s" if value < 600 else f"{value / 60:.1f} min"


def size(result: Result) -> str:
    """The result's size and its changed settings, escaped."""
    return escape(describe_size(result.size, result.changes))


def _value(value: float, unit: str) -> str:
    if not math.isfinite(value):
        return str(value)
    return f"{value:.3f}" if unit == "" else f"{value:.1f}"


def _row(number: Number) -> str:
    ours = _value(number.mean, number.unit)
    if len(number.values) > 1:
        ours += f" ± {_value(number.spread, number.unit)} ({len(number.values)} seeds)"
    reference = "-" if number.reference is None else _value(number.reference, number.unit)
    difference = "-" if number.difference is None else \
        ("+" if number.difference >= 0 else "") + _value(number.difference, number.unit)
    return f"| {escape(number.label)} | {ours} | {reference} | {difference} | {_judged(number)} |"


def _judged(number: Number) -> str:
    """Whether the number is within its tolerance of the reference's, and what is known."""
    if number.within is None:
        return "-"
    verdict = "within" if number.within else "**outside**"
    note = f"; {escape(number.note)}" if number.note else ""
    return f"{verdict} ±{_value(number.tolerance, number.unit)}{note}"


def judged(result: Result) -> tuple:
    """(numbers within their tolerance, numbers judged)."""
    verdicts = [n.within for n in result.numbers if n.within is not None]
    return sum(verdicts), len(verdicts)


def _verdict(claim) -> str:
    """The claim's verdict, in bold where it does not hold."""
    return claim.verdict if claim.holds or claim.undecided else f"**{claim.verdict}**"


def numbers_and_claims(result: Result, reference: str = "") -> str:
    """Markdown: where and how the result ran (with `reference`, a sentence on the reference's
    time, appended), its numbers beside the reference's, then its claims and whether they
    hold."""
    lines = [f"Size {size(result)}, {describe_key(result.key)}; {seconds(result.wall_s)} on "
             f"{escape(result.device)} (compilation included).{reference}", "",
             "| quantity | ours (mean ± std) | reference | difference | judged |",
             "|---|---|---|---|---|"]
    lines += [_row(number) for number in result.numbers]
    lines += ["", "Claims:", ""]
    lines += [f"- {_verdict(c)}: {escape(c.text)} ({escape(c.evidence)})" for c in result.claims]
    return "\n".join(lines)
