"""The report of a reproduction (`report.md`): a summary table of every experiment (size,
device, wall time against the reference's, claims holding), then one section each: our numbers
with their spread over seeds beside the reference's, the difference, the claims and the figure.

Text that comes from a stored result (labels, claims, evidence, device names, versions) is
escaped: it reads as written and never becomes markup (headings, links, images, HTML, table
cells)."""

from __future__ import annotations

import math
import re

from . import EXPERIMENTS
from .base import versions
from .result import Number, Result, describe_key

_MARKUP = re.compile(r"([\\`*_{}\[\]#!|~])")
_SPACE = re.compile(r"\s+")


def escape(text: str) -> str:
    """`text` as Markdown that renders it literally, on one line: white space (newlines
    included) folded to single spaces, Markdown's punctuation backslash-escaped, `&`, `<` and `>`
    as HTML entities."""
    text = _SPACE.sub(" ", str(text)).strip()
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _MARKUP.sub(r"\\\1", text)


def _written_by(found: dict) -> str:
    return (f"mnist1d-jax {found.get('mnist1d-jax', 'unknown')}, "
            f"JAX {found.get('jax', 'unknown')}") if found else "an unrecorded version"


def figure_name(name: str) -> str:
    """The figure's file name in a reproduction folder."""
    return f"{name}.png"


def _seconds(seconds) -> str:
    if seconds is None:
        return "-"
    return f"{seconds:.0f} s" if seconds < 600 else f"{seconds / 60:.1f} min"


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
    return f"| {escape(number.label)} | {ours} | {reference} | {difference} |"


def numbers_and_claims(result: Result) -> str:
    """Markdown: the numbers beside the reference's, then the claims and whether they hold."""
    module = EXPERIMENTS[result.name]
    seconds, source = module.REFERENCE_TIME
    lines = [f"Size `{result.size}`, {describe_key(result.key)}; {_seconds(result.wall_s)} on "
             f"{escape(result.device)} (compilation included). The reference: "
             f"{_seconds(seconds)} ({source}).", "",
             "| quantity | ours (mean ± std) | reference | difference |", "|---|---|---|---|"]
    lines += [_row(number) for number in result.numbers]
    lines += ["", "Claims:", ""]
    lines += [f"- {'holds' if c.holds else '**does not hold**'}: {escape(c.text)} "
              f"({escape(c.evidence)})" for c in result.claims]
    return "\n".join(lines)


def section(result: Result, undrawn: str = "") -> str:
    """One experiment's part of the report; `undrawn`: why its figure is missing, if it is."""
    figure = (f"Figure not drawn: {escape(undrawn)}" if undrawn
              else f"![{result.name}]({figure_name(result.name)})")
    return "\n".join([f"## {EXPERIMENTS[result.name].TITLE} (`{result.name}`)", "",
                      numbers_and_claims(result), "", figure, ""])


def _provenance(ordered: list, kept) -> list:
    """Lines on the versions that wrote the results (named per experiment when they differ) and
    on the entries kept unread."""
    written = {_written_by(r.versions) for r in ordered}
    lines = []
    if len(written) > 1:
        lines = ["**This folder mixes versions**: " + "; ".join(
            f"`{r.name}` by {escape(_written_by(r.versions))}" for r in ordered) + ".", ""]
    elif written and written != {_written_by(versions())}:  # a folder resumed by another version
        lines = [f"Its results were computed by {escape(written.pop())}.", ""]
    if kept:
        lines += [f"`results.json` also keeps {len(kept)} entries this version does not read "
                  f"(another version wrote them), untouched: "
                  + ", ".join(escape(name) for name in kept) + ".", ""]
    return lines


def render(results: dict, kept=(), undrawn: dict | None = None) -> str:
    """The whole report for `results` (name -> `Result`), in the order of `EXPERIMENTS`.

    Args:
      kept: names of stored entries this version does not read (listed, not rendered).
      undrawn: name -> why that experiment's figure could not be drawn.
    """
    undrawn = undrawn or {}
    ordered = [results[name] for name in EXPERIMENTS if name in results]
    lines = ["# MNIST-1D reproduced", "",
             f"Written by `mnist1d-jax reproduce` ({escape(_written_by(versions()))}). "
             "Accuracies and errors are percentages, pooling's advantages "
             "points, learning rates, arguments and losses plain numbers; the spread is the "
             "standard deviation over seeds (or trials).", ""]
    lines += _provenance(ordered, kept)
    lines += ["| experiment | size | device | wall time | the reference's | claims holding |",
              "|---|---|---|---|---|---|"]
    for result in ordered:
        reference = EXPERIMENTS[result.name].REFERENCE_TIME[0]
        held = sum(c.holds for c in result.claims)
        lines.append(f"| `{result.name}` | {result.size} | {escape(result.device)} | "
                     f"{_seconds(result.wall_s)} | {_seconds(reference)} | "
                     f"{held} of {len(result.claims)} |")
    total = sum(r.wall_s for r in ordered)
    held = sum(c.holds for r in ordered for c in r.claims)
    claims = sum(len(r.claims) for r in ordered)
    lines += [f"| total | | | {_seconds(total)} | | {held} of {claims} |", ""]
    lines += [section(result, undrawn.get(result.name, "")) for result in ordered]
    return "\n".join(lines)
