"""`mnist1d-jax reproduce`: runs the experiments (`experiments`) and writes a folder: one figure
per experiment (`NAME.png`), every result (`results.json`) and the report (`report.md`).

The folder follows the house rules for outputs (`outputs`, kind "reproduction"): it is created,
or it is empty, or it is an earlier reproduction, and nothing else in it is ever replaced. Each
file is written atomically after each experiment, figure first and report last: an interrupted
run loses only the experiment in progress, and the report always describes whole experiments.
Resumable: an experiment whose result of the same size and key is stored is not run again
(unless `force`); a stored result's missing figure is drawn again from its arrays.
"""

from __future__ import annotations

import contextlib
import json
import os
from typing import Callable

import jax

from ..checks import check_integer
from ..extras import require
from ..outputs import (REPRODUCTION_FORMAT, REPRODUCTION_RESULTS, atomic_open, check_input,
                       check_output)
from .experiments import EXPERIMENTS, RUN, Result
from .experiments.base import key_data
from .experiments.report import figure_name, render
from .experiments.result import check_size

REPORT = "report.md"


def check_names(names) -> list:
    """The experiments to run, in the order given (all of them, in `EXPERIMENTS` order, when
    `names` is empty or None); duplicates dropped."""
    if not names:
        return list(EXPERIMENTS)
    unknown = [n for n in names if n not in EXPERIMENTS]
    if unknown:
        raise ValueError(f"unknown experiment {unknown[0]!r}: choose from {', '.join(EXPERIMENTS)}")
    return list(dict.fromkeys(names))


def stored_results(out) -> dict:
    """The results stored in the reproduction folder `out` (name -> `Result`; empty if none).
    Checks the folder first (`check_output`)."""
    check_output(out, "reproduction")
    path = os.path.join(out, REPRODUCTION_RESULTS)
    if not os.path.exists(path):
        return {}
    check_input(path)
    with open(path, encoding="utf-8") as handle:
        stored = json.load(handle)
    try:
        return {name: Result.from_json(value) for name, value in stored["experiments"].items()
                if name in EXPERIMENTS}
    except (KeyError, TypeError, AttributeError, ValueError) as error:
        raise ValueError(f"{path!r} is damaged ({error}): choose a new folder") from None


def _write_text(path: str, text: str) -> None:
    with atomic_open(path, "w") as handle:
        handle.write(text)


def _write_figure(out: str, result: Result) -> None:
    figure = result.figure()
    with atomic_open(os.path.join(out, figure_name(result.name))) as handle:
        figure.savefig(handle, format="png", dpi=100)


def _write_results(out: str, results: dict) -> None:
    stored = {"format": REPRODUCTION_FORMAT,
              "experiments": {name: result.to_json() for name, result in results.items()}}
    _write_text(os.path.join(out, REPRODUCTION_RESULTS), json.dumps(stored, indent=1))
    _write_text(os.path.join(out, REPORT), render(results))


def _no_bar(name: str):
    return contextlib.nullcontext(None)


def reproduce(out, names=None, *, seed: int = 0, size: str = "full", force: bool = False,
              bar: Callable = _no_bar, log: Callable[[str], None] | None = print) -> dict:
    """Runs the experiments `names` (default all) from `jax.random.key(seed)` at `size` and
    writes them to the folder `out` (created if missing; its parent must exist).

    Args:
      bar: `bar(name)` -> a context manager giving the experiment's `progress` callable (or
        None); the command line passes a tqdm bar (`mnist1d_jax.progress.Bar`).
      log: called with one line per experiment done or skipped (`None`: silent).

    Returns:
      name -> `Result` of everything the folder holds now.
    """
    require("plot", "mnist1d-jax reproduce", "matplotlib")
    names = check_names(names)
    size = check_size(size)
    seed = check_integer(seed, "seed", 0, 2**32 - 1)
    out = os.fspath(out)
    results = stored_results(out)
    if not os.path.isdir(out):
        os.mkdir(out)
    key = jax.random.key(seed)
    stored_as = key_data(key)
    log = log or (lambda line: None)
    for name in names:
        previous = results.get(name)
        stored = previous is not None and (previous.size, previous.key) == (size, stored_as)
        if stored and not force:
            if not os.path.exists(os.path.join(out, figure_name(name))):
                _write_figure(out, previous)
            log(f"{name}: already in {out} ({size}, seed {seed}), not run again (--force reruns)")
            continue
        with bar(name) as progress:
            result = RUN[name](key, size, progress=progress)
        _write_figure(out, result)
        results[name] = result
        _write_results(out, results)
        held = sum(c.holds for c in result.claims)
        log(f"{name}: {result.wall_s:.1f} s on {result.device}; {held} of {len(result.claims)} "
            f"claims hold")
    # once more at the end: a run stopped between results.json and report.md left the report
    # behind the results, and a run that skips everything must still bring it up to date
    _write_results(out, results)
    return results
