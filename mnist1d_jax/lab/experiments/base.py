"""What every experiment's run shares: progress by stages (`Stages`), what it returns
(`Outcome`), where and by which versions it ran, and a figure made without pyplot."""

from __future__ import annotations

import contextlib
import fnmatch
import functools
import importlib.metadata
import io
import os
from collections.abc import Callable, Mapping
from typing import NamedTuple

import jax
import numpy as np

from ...extras import require

__all__ = ["Outcome", "Progress", "Stages", "arrays_problem", "band", "device_name", "draw_band",
           "key_data", "new_figure", "outcome", "versions"]

Progress = Callable[[str, float, float], None]
"""`progress(stage, done, total)`: the stage running (or just finished) and the work done so far
out of the experiment's total, in the experiment's own units (estimated relative costs)."""


class Stages:
    """An experiment's stages and their estimated relative costs; reports to a `Progress`."""

    def __init__(self, progress: Progress | None, costs: dict):
        self.progress = progress
        self.costs = dict(costs)
        self.total = float(sum(self.costs.values()))
        self.done = 0.0

    def _report(self, stage: str) -> None:
        if self.progress is not None:
            self.progress(stage, self.done, self.total)

    def start(self, stage: str) -> None:
        self._report(stage)

    def within(self, stage: str) -> Callable[[str], None]:
        """A `progress(line)` for a part of `stage` that reports in lines (a sweep's chunks): each
        line reports the stage again without advancing it, so that the experiment's `progress`
        (and whatever it checks, such as a pending interrupt) is called between the parts."""
        return lambda line: self._report(stage)

    def finish(self, stage: str) -> None:
        self.done += self.costs[stage]
        self._report(stage)

    @contextlib.contextmanager
    def __call__(self, stage: str):
        """`with stages(name):` reports the stage when it starts and when it ends."""
        self.start(stage)
        yield
        self.finish(stage)


def device_name() -> str:
    """The default device as the report names it: the CPU's core count, or the accelerator's
    kind (and how many)."""
    devices = jax.devices()
    if jax.default_backend() == "cpu":
        return f"CPU, {os.cpu_count()} cores"
    count = f"{len(devices)} x " if len(devices) > 1 else ""
    return f"{count}{devices[0].device_kind}"


def versions() -> dict:
    """The versions a result records: mnist1d-jax's ("from source" when run from a source tree
    that is not installed) and JAX's."""
    try:
        ours = importlib.metadata.version("mnist1d-jax")
    except importlib.metadata.PackageNotFoundError:
        ours = "from source"
    return {"mnist1d-jax": ours, "jax": jax.__version__}


def key_data(key) -> tuple:
    """The integers of a typed key (`jax.random.key_data`), as a result stores them."""
    return tuple(int(k) for k in np.ravel(jax.random.key_data(key)))


@functools.cache
def _figure_class():
    """matplotlib's `Figure` with `_repr_png_`: a notebook shows it as an image without pyplot."""
    from matplotlib.figure import Figure

    class ExperimentFigure(Figure):
        def _repr_png_(self) -> bytes:
            buffer = io.BytesIO()
            self.savefig(buffer, format="png", dpi=100)
            return buffer.getvalue()

    return ExperimentFigure


def new_figure(width: float, height: float, columns: int = 1, rows: int = 1, **options):
    """A figure and its axes, made without pyplot: no backend is chosen and nothing global is
    touched; a notebook shows it, `savefig` writes it. Needs the plot extra."""
    require("plot", "an experiment's figure", "matplotlib")
    figure = _figure_class()(figsize=(width, height))
    axes = figure.subplots(rows, columns, squeeze=False, **options)
    return figure, axes


def arrays_problem(arrays: Mapping, spec: Mapping) -> str:
    """Why `arrays` (name -> array) are not what a figure reads ("" if they are). `spec` maps
    names to dimensions; a name with `*` (`fnmatch`) covers every array it matches, a name
    without must be there. Every array must be covered, with its dimensions."""
    for name in spec:
        if "*" not in name and name not in arrays:
            return f"it lacks the array {name!r}"
    for name, values in arrays.items():
        covering = ([s for s in spec if s == name]
                    or [s for s in spec if fnmatch.fnmatchcase(name, s)])
        if not covering:
            return f"it has an array {name!r} that the figure does not read"
        if np.ndim(values) != spec[covering[0]]:
            return (f"its array {name!r} has {np.ndim(values)} dimensions, the figure reads "
                    f"{spec[covering[0]]}")
    return ""


def band(prefix: str, values, axis: int) -> dict:
    """`prefix/mean`, `prefix/min` and `prefix/max` of `values` over `axis` (the seeds or trials):
    the arrays `draw_band` draws."""
    values = np.asarray(values)
    return {f"{prefix}/{statistic}": getattr(values, statistic)(axis)
            for statistic in ("mean", "min", "max")}


def draw_band(ax, x, arrays: dict, prefix: str, *style, **line):
    """The mean of a `band` against `x` as a line (`style`, `line`: `ax.plot`'s), its min-max
    range shaded in the line's colour."""
    drawn, = ax.plot(x, arrays[f"{prefix}/mean"], *style, **line)
    ax.fill_between(x, arrays[f"{prefix}/min"], arrays[f"{prefix}/max"], color=drawn.get_color(),
                    alpha=0.2)


class Outcome(NamedTuple):
    """What an experiment's run returns; its `Experiment` makes the `Result` of it, adding the
    name, size, key, time, device and versions."""

    numbers: list
    claims: list
    arrays: dict
    objects: dict


def outcome(numbers: list, claims: list, arrays: dict, **objects) -> Outcome:
    """An `Outcome` with its arrays as NumPy arrays; `objects` what a notebook may use further
    (not stored)."""
    return Outcome(numbers, claims, {k: np.asarray(v) for k, v in arrays.items()}, objects)
