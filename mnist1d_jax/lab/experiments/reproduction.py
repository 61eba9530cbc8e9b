"""`mnist1d-jax reproduce`: runs the experiments (`experiments`) and writes a folder: one figure
per experiment (`NAME.png`), every result (`results.json`, kept by `experiments.store`) and the
report (`report.md`).

The folder follows the house rules for outputs (`outputs`, kind "reproduction"): it is created,
or it is empty, or it is an earlier reproduction, and nothing else in it is ever replaced. A run
holds the folder's lock from its first read to its last write. Each file is written atomically
after each experiment, figure first and report last: an interrupted run loses only the
experiment in progress, and the report always describes whole experiments.

Resumable: an experiment whose result of the same size, changes and key is stored is not run
again (unless `force`); a stored result's missing figure is drawn again from its arrays. A stored
result of another size, changes or key, or one this version cannot read, is never replaced unless
`force`: the run is refused, before anything runs, with the experiments that stand in its way.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable

import jax

from ...args import MAX_SEED
from ...checks import check_integer
from ...extras import require
from ...outputs import atomic_open
from .base import arrays_problem, key_data
from .markdown import describe_key, describe_size
from .registry import EXPERIMENTS, figure
from .report import figure_name
from .result import Result, check_size, holding, identity
from .store import REPORT, Store, open_store

__all__ = ["REPORT", "check_names", "plan_changes", "reproduce"]


def check_names(names) -> list:
    """The experiments to run, in the order given (all of them, in `EXPERIMENTS` order, when
    `names` is empty or None); duplicates dropped."""
    if not names:
        return list(EXPERIMENTS)
    unknown = [n for n in names if n not in EXPERIMENTS]
    if unknown:
        raise ValueError(f"unknown experiment {unknown[0]!r}: choose from {', '.join(EXPERIMENTS)}")
    return list(dict.fromkeys(names))


def plan_changes(names: list, size: str, changes) -> dict:
    """Each experiment's changed settings: `changes` maps "SETTING" (changed in every experiment
    of `names` that has it; at least one must) or "NAME.SETTING" (in that one, which must be in
    `names`) to a value. Returns name -> its checked changes (`Experiment.settings`)."""
    planned: dict = {name: {} for name in names}
    for field, value in (changes or {}).items():
        name, _, setting = str(field).rpartition(".")
        if name:
            if name not in planned:
                raise ValueError(f"a change names {name!r}, which this run does not include: "
                                 f"it runs {', '.join(names)}")
            targets = [name]
        else:
            targets = [n for n in names if setting in EXPERIMENTS[n].sizes["full"]]
            if not targets:
                raise ValueError(f"no experiment of this run has a setting {setting!r}")
        for target in targets:
            planned[target][setting] = value
    for name in names:
        planned[name] = EXPERIMENTS[name].changes(
            size, EXPERIMENTS[name].settings(size, **planned[name]))
    return planned


def _write_figure(out: str, result: Result) -> None:
    if EXPERIMENTS[result.name].draw is None:  # an experiment without a figure
        return
    drawn = figure(result)
    with atomic_open(os.path.join(out, figure_name(result.name))) as handle:
        drawn.savefig(handle, format="png", dpi=100)


def _redraw(store: Store, result: Result) -> str:
    """Draws a stored result's missing figure from its stored arrays; returns why it could not
    ("" when drawn, or when its experiment draws none). Arrays that passed validation may still
    not be what the figure needs (a result edited by hand, another version's arrays): that figure
    is skipped, not fatal."""
    if EXPERIMENTS[result.name].draw is None:
        return ""
    problem = arrays_problem(result.arrays, EXPERIMENTS[result.name].figure_arrays)
    if problem:
        return f"the stored result does not fit its figure: {problem}"
    try:
        _write_figure(store.folder, result)
    except (KeyError, IndexError, ValueError, TypeError) as error:
        return f"its stored arrays do not fit the figure ({type(error).__name__}: {error})"
    return ""


def _check_conflicts(store: Store, identities: dict, size: str, key: tuple,
                     changed: bool) -> None:
    conflicts = [why for why in (store.conflict(name, identity)
                                 for name, identity in identities.items()) if why]
    if conflicts:
        note = " (with the changes asked for)" if changed else ""
        raise ValueError(f"{store.folder!r} holds results of another run ({'; '.join(conflicts)}); "
                         f"this run is size {size}{note} from {describe_key(key)}: --force "
                         f"replaces them, or choose another folder")


def _no_bar(name: str):
    return contextlib.nullcontext(None)


def _no_check() -> None:
    return None


def reproduce(out, names=None, *, seed: int = 0, size: str = "full", changes=None,
              force: bool = False, bar: Callable = _no_bar,
              log: Callable[[str], None] | None = print,
              check: Callable[[], None] = _no_check) -> dict:
    """Runs the experiments `names` (default all) from `jax.random.key(seed)` at `size` and
    writes them to the folder `out` (created if missing; its parent must exist).

    Args:
      changes: settings changed from `size`: "SETTING" or "NAME.SETTING" -> value
        (`plan_changes`; for example `{"seeds": 1, "pooling.steps": 120}`). Each result records
        its changes and the report names them.
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
    planned = plan_changes(names, size, changes)
    key = jax.random.key(seed)
    identities = {name: identity(size, planned[name], key_data(key)) for name in names}
    log = log or (lambda line: None)
    with open_store(out) as store:
        if not force:
            _check_conflicts(store, identities, size, key_data(key), any(planned.values()))
        for name in names:
            check()
            label = describe_size(size, planned[name])
            if store.holds(name, identities[name]) and not force:
                png = os.path.join(store.folder, figure_name(name))
                why = "" if os.path.exists(png) else _redraw(store, store.results[name])
                if why:
                    store.undrawn[name] = why
                log(f"{name}: already in {out} ({label}, seed {seed}), not run again "
                    f"(--force reruns)" + (f"; figure not drawn: {why}" if why else ""))
                continue
            with bar(name) as shown:
                def progress(stage, done, total, shown=shown):
                    check()
                    if shown is not None:
                        shown(stage, done, total)

                result = EXPERIMENTS[name](key, size, progress=progress, **planned[name])
            _write_figure(store.folder, result)
            store.put(result)
            log(f"{name}: {result.wall_s:.1f} s on {result.device}; "
                f"{holding(result.claims, ' claims hold')}")
        # once more at the end: a run stopped between results.json and report.md left the report
        # behind the results, and a run that skips everything must still bring it up to date
        store.write()
        return dict(store.results)
