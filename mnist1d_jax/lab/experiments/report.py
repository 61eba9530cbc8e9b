"""The report of a reproduction (`report.md`): a summary table of every experiment (size,
device, wall time against the reference's, claims holding), then one section each: our numbers
with their spread over seeds beside the reference's, the difference, the claims and the figure."""

from __future__ import annotations

import importlib.metadata
import math

import jax

from . import EXPERIMENTS
from .result import Number, Result


def _version() -> str:
    try:
        return importlib.metadata.version("mnist1d-jax")
    except importlib.metadata.PackageNotFoundError:  # run from a source tree
        return "from source"


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
    return f"| {number.label} | {ours} | {reference} | {difference} |"


def _key(result: Result) -> str:
    data = list(result.key)
    return f"jax.random.key({data[-1]})" if len(data) == 2 and data[0] == 0 else f"key data {data}"


def numbers_and_claims(result: Result) -> str:
    """Markdown: the numbers beside the reference's, then the claims and whether they hold."""
    module = EXPERIMENTS[result.name]
    seconds, source = module.REFERENCE_TIME
    lines = [f"Size `{result.size}`, {_key(result)}; {_seconds(result.wall_s)} on "
             f"{result.device} (compilation included). The reference: "
             f"{_seconds(seconds)} ({source}).", "",
             "| quantity | ours (mean ± std) | reference | difference |", "|---|---|---|---|"]
    lines += [_row(number) for number in result.numbers]
    lines += ["", "Claims:", ""]
    lines += [f"- {'holds' if c.holds else '**does not hold**'}: {c.text} ({c.evidence})"
              for c in result.claims]
    return "\n".join(lines)


def section(result: Result) -> str:
    """One experiment's part of the report."""
    return "\n".join([f"## {EXPERIMENTS[result.name].TITLE} (`{result.name}`)", "",
                      numbers_and_claims(result), "",
                      f"![{result.name}]({figure_name(result.name)})", ""])


def render(results: dict) -> str:
    """The whole report for `results` (name -> `Result`), in the order of `EXPERIMENTS`."""
    ordered = [results[name] for name in EXPERIMENTS if name in results]
    lines = ["# MNIST-1D reproduced", "",
             f"Written by `mnist1d-jax reproduce` (mnist1d-jax {_version()}, JAX "
             f"{jax.__version__}). Accuracies and errors are percentages, pooling's advantages "
             "points, learning rates, arguments and losses plain numbers; the spread is the "
             "standard deviation over seeds (or trials).", "",
             "| experiment | size | device | wall time | the reference's | claims holding |",
             "|---|---|---|---|---|---|"]
    for result in ordered:
        reference = EXPERIMENTS[result.name].REFERENCE_TIME[0]
        held = sum(c.holds for c in result.claims)
        lines.append(f"| `{result.name}` | {result.size} | {result.device} | "
                     f"{_seconds(result.wall_s)} | {_seconds(reference)} | "
                     f"{held} of {len(result.claims)} |")
    total = sum(r.wall_s for r in ordered)
    held = sum(c.holds for r in ordered for c in r.claims)
    claims = sum(len(r.claims) for r in ordered)
    lines += [f"| total | | | {_seconds(total)} | | {held} of {claims} |", ""]
    lines += [section(result) for result in ordered]
    return "\n".join(lines)
