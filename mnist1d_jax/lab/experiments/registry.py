"""An experiment as one registered object (`Experiment`): its name, title and the reference's
time, its settings at the sizes "quick" and "full", its run and its figure. `register` adds one to
`EXPERIMENTS`, which `mnist1d-jax reproduce`, the results store and the report read; the
package's own experiments are registered when `lab.experiments` is imported, in the order of the
paper and the notebooks, and a researcher's own experiment registers the same way.

A size is "quick", "full", or one of them with some settings changed (`experiment(key, "full",
seeds=10)`): the changes are checked against the size's settings, recorded on the `Result` and
named by the report."""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable, Mapping

from ...checks import check_key, is_integer
from .base import Outcome, Progress, device_name, key_data, versions
from .result import SIZES, Result, Tolerance, check_size

MAX_SETTING = 10_000_000
"""The largest integer setting (a count of seeds, steps, rows...) a change may ask for."""
MAX_LIST = 1_000
"""The most elements of a list setting."""
RESERVED = ("key", "size", "progress")
"""Names no setting may take: the run's own arguments."""


@dataclasses.dataclass(frozen=True, eq=False)
class Experiment:
    """One experiment: calling it runs it (`experiment(key, size="full", *, progress=None,
    **changes) -> Result`).

    Attributes:
      name: its name in `EXPERIMENTS`, in reproduction folders and in the report.
      title: the report's heading for it.
      run: `run(key, settings, progress) -> base.Outcome`: the work, given a checked key and the
        checked settings of the size asked for (a dict of the names of `sizes["full"]`).
      draw: `draw(result) -> Figure`, from `result.arrays` alone (a stored result draws again);
        None for an experiment without a figure.
      sizes: "quick" and "full" -> settings: name -> an int, a float, a str, None, or a list of
        ints or strs (JSON values, so that a changed size is stored with its result).
      figure_arrays: the arrays `draw` reads and their dimensions (`base.arrays_problem`).
      reference_time: the reference's wall time in seconds (None where it has none) and where
        that figure comes from.
      choices: setting -> the values it (or each element of a list setting) may take (a tuple, or
        a `range` of integers), where the type alone does not say (indices into a fixed table,
        names of models).
      smoke: changes to the quick size that give the smallest run through every part of the
        experiment (one seed, a few steps): the test suite's and the notebooks' fast mode. Its
        numbers mean nothing.
      tolerance: how far its numbers may lie from the reference's (`Tolerance`, in the numbers'
        units); every number with a reference is judged by it.
    """

    name: str
    title: str
    run: Callable[..., Outcome]
    draw: Callable | None
    sizes: Mapping[str, Mapping]
    figure_arrays: Mapping[str, int]
    reference_time: tuple
    choices: Mapping[str, tuple | range] = dataclasses.field(default_factory=dict)
    smoke: Mapping = dataclasses.field(default_factory=dict)
    tolerance: Tolerance = Tolerance(3.0)

    def __post_init__(self):
        if set(self.sizes) != set(SIZES):
            raise ValueError(f"experiment {self.name!r} must give the sizes {SIZES}; "
                             f"got {tuple(self.sizes)}")
        if set(self.sizes["quick"]) != set(self.sizes["full"]):
            raise ValueError(f"experiment {self.name!r}: its quick and full sizes must name the "
                             f"same settings")
        clash = set(self.sizes["full"]) & set(RESERVED)
        if clash:
            raise ValueError(f"experiment {self.name!r}: a setting may not be named "
                             f"{sorted(clash)[0]!r}")
        self.settings("quick", **self.smoke)

    def settings(self, size: str = "full", **changes) -> dict:
        """The settings of `size` ("quick" or "full") with `changes` applied, each checked
        (`TypeError`/`ValueError` naming the setting and what it allows)."""
        size = check_size(size)
        settings = {name: _plain(value) for name, value in self.sizes[size].items()}
        for name, value in changes.items():
            settings[name] = self._check(name, value)
        return settings

    def changes(self, size: str, settings: Mapping) -> dict:
        """The settings of `settings` that differ from `size`'s (what a result records)."""
        base = self.settings(size)
        return {name: value for name, value in settings.items() if value != base[name]}

    def _check(self, name: str, value):
        if name not in self.sizes["full"]:
            raise ValueError(f"{self.name} has no setting {name!r}; it has "
                             f"{', '.join(self.sizes['full'])}")
        bases = [_plain(self.sizes[size][name]) for size in SIZES]
        label = f"{self.name} setting {name}"
        if value is None:
            if None not in bases:
                raise TypeError(f"{label} may not be None")
            return None
        typed = [b for b in bases if b is not None][0]
        choices = self.choices.get(name)
        if isinstance(typed, list):
            if not isinstance(value, (list, tuple)) or not 1 <= len(value) <= MAX_LIST:
                raise TypeError(f"{label} must be a list of 1 to {MAX_LIST} elements; got "
                                f"{value!r:.60}")
            if len(set(value)) != len(value):
                raise ValueError(f"{label} must not repeat an element; got {list(value)!r:.60}")
            return [_element(label, v, typed[0], choices) for v in value]
        return _element(label, value, typed, choices)

    def __call__(self, key, size: str = "full", *, progress: Progress | None = None,
                 **changes) -> Result:
        """Runs the experiment from `key` at `size` with `changes`: checks the key, the size and
        every change first, and records the key, the size and its changes, the wall time
        (compilation included), the device and the versions on the result. At the full size
        its numbers are judged by its `tolerance` (a quick run's settings are not the
        reference's, so its numbers are not)."""
        key = check_key(key)
        settings = self.settings(size, **changes)
        start = time.perf_counter()
        outcome = self.run(key, settings, progress)
        wall_s = time.perf_counter() - start
        numbers = self.tolerance.judge(outcome.numbers) if size == "full" else outcome.numbers
        return Result(self.name, size, key_data(key), numbers, outcome.claims,
                      outcome.arrays, wall_s, device_name(), versions(), outcome.objects,
                      changes=self.changes(size, settings))


def _plain(value):
    """A setting as JSON holds it (tuples as lists)."""
    return list(value) if isinstance(value, tuple) else value


def _element(label: str, value, like, choices):
    """`value` checked to be of `like`'s kind (int, float or str) and among `choices`."""
    if isinstance(like, bool) or not isinstance(like, (int, float, str)):
        raise TypeError(f"{label} cannot be changed")
    if isinstance(like, int):
        if not is_integer(value):
            raise TypeError(f"{label} must be an integer; got {value!r:.60}")
        low = 0 if choices is not None else 1
        if not low <= value <= MAX_SETTING:
            raise ValueError(f"{label} must be in [{low}, {MAX_SETTING:,}]; got {value}")
        value = int(value)
    elif isinstance(like, float):
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            raise TypeError(f"{label} must be a number; got {value!r:.60}")
        if not math.isfinite(value):
            raise ValueError(f"{label} must be a finite number; got {value!r}")
        value = float(value)
    elif not isinstance(value, str):
        raise TypeError(f"{label} must be a string; got {value!r:.60}")
    if choices is not None and value not in choices:
        shown = (f"[{choices.start}, {choices.stop - 1}]" if isinstance(choices, range)
                 else ", ".join(map(str, choices)))
        raise ValueError(f"{label} must take its values from {shown}; got {value!r}")
    return value


EXPERIMENTS: dict[str, Experiment] = {}
"""Name -> `Experiment`, in the order registered (the package's: the paper's and the
notebooks')."""


def register(experiment: Experiment) -> Experiment:
    """Adds `experiment` to `EXPERIMENTS` (a name may be registered once) and returns it."""
    if not isinstance(experiment, Experiment):
        raise TypeError(f"experiment must be an Experiment; got {type(experiment).__name__}")
    if experiment.name in EXPERIMENTS:
        raise ValueError(f"an experiment named {experiment.name!r} is already registered")
    EXPERIMENTS[experiment.name] = experiment
    return experiment


def figure(result: Result):
    """The figure of `result` (a `matplotlib.figure.Figure` made without pyplot), drawn by its
    registered experiment from its arrays. Needs the plot extra."""
    if result.name not in EXPERIMENTS:
        raise ValueError(f"no experiment named {result.name!r} is registered")
    draw = EXPERIMENTS[result.name].draw
    if draw is None:
        raise ValueError(f"the experiment {result.name!r} draws no figure")
    return draw(result)


__all__ = ["EXPERIMENTS", "Experiment", "figure", "register"]
