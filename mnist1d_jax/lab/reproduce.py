"""`mnist1d-jax reproduce`: runs the experiments (`experiments`) and writes a folder: one figure
per experiment (`NAME.png`), every result (`results.json`, kept by `experiments.store`) and the
report (`report.md`).

The folder follows the house rules for outputs (`outputs`, kind "reproduction"): it is created,
or it is empty, or it is an earlier reproduction, and nothing else in it is ever replaced. A run
holds the folder's lock from its first read to its last write. Each file is written atomically
after each experiment, figure first and report last: an interrupted run loses only the
experiment in progress, and the report always describes whole experiments.

Resumable: an experiment whose result of the same size and key is stored is not run again
(unless `force`); a stored result's missing figure is drawn again from its arrays. A stored
result of another size or key, or one this version cannot read, is never replaced unless `force`:
the run is refused, before anything runs, with the experiments that stand in its way.
"""

from __future__ import annotations

import contextlib
import os
from typing import Callable

import jax

from ..args import MAX_SEED
from ..checks import check_integer
from ..extras import require
from ..outputs import atomic_open
from .experiments import EXPERIMENTS, RUN, Result
from .experiments.base import arrays_problem, key_data
from .experiments.report import figure_name
from .experiments.result import check_size, describe_key
from .experiments.store import REPORT, Store, open_store

__all__ = ["REPORT", "check_names", "reproduce"]


def check_names(names) -> list:
    """The experiments to run, in the order given (all of them, in `EXPERIMENTS` order, when
    `names` is empty or None); duplicates dropped."""
    if not names:
        return list(EXPERIMENTS)
    unknown = [n for n in names if n not in EXPERIMENTS]
    if unknown:
        raise ValueError(f"unknown experiment {unknown[0]!r}: choose from {', '.join(EXPERIMENTS)}")
    return list(dict.fromkeys(names))


def _write_figure(out: str, result: Result) -> None:
    figure = result.figure()
    with atomic_open(os.path.join(out, figure_name(result.name))) as handle:
        figure.savefig(handle, format="png", dpi=100)


def _redraw(store: Store, result: Result) -> str:
    """Draws a stored result's missing figure from its stored arrays; returns why it could not
    ("" when drawn). Arrays that passed validation may still not be what the figure needs (a
    result edited by hand, another version's arrays): that figure is skipped, not fatal."""
    problem = arrays_problem(result.arrays, EXPERIMENTS[result.name].FIGURE_ARRAYS)
    if problem:
        return f"the stored result does not fit its figure: {problem}"
    try:
        _write_figure(store.folder, result)
    except (KeyError, IndexError, ValueError, TypeError) as error:
        return f"its stored arrays do not fit the figure ({type(error).__name__}: {error})"
    return ""


def _check_conflicts(store: Store, names: list, size: str, key: tuple) -> None:
    conflicts = [why for why in (store.conflict(name, size, key) for name in names) if why]
    if conflicts:
        raise ValueError(f"{store.folder!r} holds results of another run ({'; '.join(conflicts)}); "
                         f"this run is size {size} from {describe_key(key)}: --force replaces "
                         f"them, or choose another folder")


def _no_bar(name: str):
    return contextlib.nullcontext(None)


def _no_check() -> None:
    return None


def reproduce(out, names=None, *, seed: int = 0, size: str = "full", force: bool = False,
              bar: Callable = _no_bar, log: Callable[[str], None] | None = print,
              check: Callable[[], None] = _no_check) -> dict:
    """Runs the experiments `names` (default all) from `jax.random.key(seed)` at `size` and
    writes them to the folder `out` (created if missing; its parent must exist).

    Args:
      force: run the named experiments even when their result is stored, replacing a stored
        result of another size or key (and one this version cannot read); without it such a
        result stops the run before anything runs.
      bar: `bar(name)` -> a context manager giving the experiment's `progress` callable (or
        None); the command line passes a tqdm bar (`mnist1d_jax.progress.Bar`).
      log: called with one line per experiment done or skipped (`None`: silent).
      check: called at every safe point (before each experiment and with every progress report
        of the running one); it raises to stop the run there (the command line's
        `interrupts.Deferred.check`). What was written until then stays whole.

    Returns:
      name -> `Result` of everything the folder holds now that this version reads.

    Raises:
      ValueError: unknown names, a bad size or seed, a folder that may not be written, one that
        another run holds, damaged results, or stored results of another run (without `force`).
    """
    require("plot", "mnist1d-jax reproduce", "matplotlib")
    require("lab", "mnist1d-jax reproduce", "filelock")
    names = check_names(names)
    size = check_size(size)
    seed = check_integer(seed, "seed", 0, MAX_SEED)
    key = jax.random.key(seed)
    identity = key_data(key)
    log = log or (lambda line: None)
    with open_store(out) as store:
        if not force:
            _check_conflicts(store, names, size, identity)
        for name in names:
            check()
            if store.holds(name, size, identity) and not force:
                figure = os.path.join(store.folder, figure_name(name))
                why = "" if os.path.exists(figure) else _redraw(store, store.results[name])
                if why:
                    store.undrawn[name] = why
                log(f"{name}: already in {out} ({size}, seed {seed}), not run again "
                    f"(--force reruns)" + (f"; figure not drawn: {why}" if why else ""))
                continue
            with bar(name) as shown:
                def progress(stage, done, total, shown=shown):
                    check()
                    if shown is not None:
                        shown(stage, done, total)

                result = RUN[name](key, size, progress=progress)
            _write_figure(store.folder, result)
            store.put(result)
            held = sum(c.holds for c in result.claims)
            log(f"{name}: {result.wall_s:.1f} s on {result.device}; {held} of "
                f"{len(result.claims)} claims hold")
        # once more at the end: a run stopped between results.json and report.md left the report
        # behind the results, and a run that skips everything must still bring it up to date
        store.write()
        return dict(store.results)
