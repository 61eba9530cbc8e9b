"""The report of a reproduction (`report.md`): a summary table of every experiment (size,
device, wall time against the reference's at the full size, claims holding, numbers within
their tolerance), then one section each: our numbers with their spread over seeds beside the
reference's, the difference and whether it is within the experiment's tolerance, the claims
and the figure.

Text that comes from a stored result (labels, claims, evidence, device names, versions) is
escaped: it reads as written and never becomes markup (headings, links, images, HTML, table
cells)."""

from __future__ import annotations

from . import markdown
from .base import versions
from .markdown import escape
from .registry import EXPERIMENTS
from .result import Result, holding

__all__ = ["figure_name", "render", "section"]


def _written_by(found: dict) -> str:
    return (f"mnist1d-jax {found.get('mnist1d-jax', 'unknown')}, "
            f"JAX {found.get('jax', 'unknown')}") if found else "an unrecorded version"


def figure_name(name: str) -> str:
    """The figure's file name in a reproduction folder."""
    return f"{name}.png"


def _comparable(result: Result) -> bool:
    """Whether the reference's time compares with the result's: the full size, as defined."""
    return result.size == "full" and not result.changes


def _reference_time(experiment, result: Result) -> str:
    seconds, source = experiment.reference_time
    if not _comparable(result):
        return " The reference's time is for the full size, so it is not compared."
    judged = (f" A number reproduces the reference's when it differs from it by at most "
              f"{experiment.tolerance.describe()}.") if any(
        n.tolerance is not None for n in result.numbers) else ""
    return f" The reference: {markdown.seconds(seconds)} ({source}).{judged}"


def _numbers_within(result: Result) -> str:
    within, judged = markdown.judged(result)
    return f"{within} of {judged}" if judged else "-"


def section(result: Result, undrawn: str = "") -> str:
    """One experiment's part of the report; `undrawn`: why its figure is missing, if it is."""
    experiment = EXPERIMENTS[result.name]
    figure = (f"Figure not drawn: {escape(undrawn)}" if undrawn
              else "No figure." if experiment.draw is None
              else f"![{result.name}]({figure_name(result.name)})")
    return "\n".join([f"## {experiment.title} (`{result.name}`)", "",
                      markdown.numbers_and_claims(result, _reference_time(experiment, result)),
                      "",
                      figure, ""])


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
    lines += ["| experiment | size | device | wall time | the reference's | claims holding | "
              "numbers within tolerance |", "|---|---|---|---|---|---|---|"]
    for result in ordered:
        reference = (EXPERIMENTS[result.name].reference_time[0] if _comparable(result)
                     else None)
        lines.append(f"| `{result.name}` | {markdown.size(result)} | {escape(result.device)} | "
                     f"{markdown.seconds(result.wall_s)} | {markdown.seconds(reference)} | "
                     f"{holding(result.claims)} | {_numbers_within(result)} |")
    total = sum(r.wall_s for r in ordered)
    within = [markdown.judged(r) for r in ordered]
    numbers = (f"{sum(w for w, _ in within)} of {sum(j for _, j in within)}"
               if any(j for _, j in within) else "-")
    lines += [f"| total | | | {markdown.seconds(total)} | | "
              f"{holding([c for r in ordered for c in r.claims])} | {numbers} |", ""]
    lines += [section(result, undrawn.get(result.name, "")) for result in ordered]
    return "\n".join(lines)
