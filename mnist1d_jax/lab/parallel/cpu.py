"""Running the lab's small training programs well on a CPU.

Two facts about XLA's CPU runtime, each with one owner here (their measurements are in
docs/benchmarks.md):

- **One run uses about one core.** A small model's training step is a chain of small operations
  that XLA runs one after another on one thread, so independent runs side by side (Python
  threads; XLA releases the GIL) each keep nearly their own speed. The lab runs independent
  programs (a sweep's buckets, a contrastive run's seeds) on `workers()` threads at once
  (`run_all`), and splits a program of vmapped runs into one group per core (`run_grouped`).
- **YNNPACK's dot kernels lose on small matrices.** XLA hands each dot to YNNPACK by default;
  its own kernels are faster for this package's small models. The lab compiles its sweep and
  contrastive programs with `OPTIONS` where the installed XLA knows them (`compile_lowered`, with
  `compiler_options()`; an XLA that does not gets none: nothing fails).

Neither changes JAX's global configuration: the options go to the lab's own compilations.
"""

from __future__ import annotations

import concurrent.futures
import functools
import os
import threading
from collections.abc import Callable, Iterable

import jax
import jax.numpy as jnp
import numpy as np

from ...checks import check_positive_int, platform

__all__ = ["OPTIONS", "Cancelled", "check_stop", "compile_lowered", "compiler_options", "run_all",
           "run_grouped", "workers"]


OPTIONS = {"xla_cpu_experimental_ynn_fusion_type": ""}
"""XLA options of the lab's compiled training programs: no YNNPACK library fusions."""


@functools.cache
def compiler_options() -> dict:
    """`OPTIONS` if this XLA accepts them (checked once by compiling a one-operation program),
    else `{}`. They name only CPU settings: other backends ignore them."""
    try:
        jax.jit(lambda x: x + 1, compiler_options=OPTIONS).lower(jnp.float32(0)).compile()
    except Exception:  # noqa: BLE001 - an XLA that renamed or removed the option
        return {}
    return dict(OPTIONS)


def compile_lowered(lowered):
    """`lowered.compile()` (a `jax.stages.Lowered`) with the lab's `compiler_options()`."""
    return lowered.compile(compiler_options=compiler_options())


def workers() -> int:
    """How many independent runs to execute at once: the CPU cores this process may use when
    JAX's default device is a CPU, else 1 (an accelerator runs one program at a time)."""
    if platform() != "cpu":
        return 1
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # platforms without sched_getaffinity
        return max(1, os.cpu_count() or 1)


class Cancelled(Exception):
    """Raised by a `run_all` call that stopped at a safe point because another call failed or
    the caller was interrupted."""


def run_all(fn: Callable, items: Iterable, max_workers: int | None = None) -> list:
    """`[fn(item, stop) for item in items]`, up to `max_workers` (default `workers()`) at once in
    threads; results in the order of `items`.

    `stop` is a `threading.Event` set as soon as any call fails or the waiting thread is
    interrupted (Ctrl-C, or an exception raised in it at a safe point): a long call checks it
    at its safe points (`check_stop`) and ends there, so that the error surfaces after at most
    one more step of each running call rather than after all of them. Calls not yet started are
    cancelled; the first error (not a `Cancelled`) is raised once every started call has ended.
    """
    items = list(items)
    max_workers = workers() if max_workers is None else check_positive_int(max_workers,
                                                                           "max_workers")
    stop = threading.Event()
    if max_workers == 1 or len(items) <= 1:
        return [fn(item, stop) for item in items]
    with concurrent.futures.ThreadPoolExecutor(min(max_workers, len(items))) as pool:
        futures = [pool.submit(fn, item, stop) for item in items]
        try:
            done, _ = concurrent.futures.wait(futures,
                                              return_when=concurrent.futures.FIRST_EXCEPTION)
            for future in futures:  # a failure raises here, before waiting on running calls
                if future in done and future.exception() is not None:
                    future.result()
            return [future.result() for future in futures]
        except BaseException:
            stop.set()
            for future in futures:
                future.cancel()
            raise


def check_stop(stop: threading.Event) -> None:
    """Raises `Cancelled` if `stop` (a `run_all` call's) is set: a call's safe point."""
    if stop.is_set():
        raise Cancelled("stopped: another run failed or the caller was interrupted")


def run_grouped(jitted, runs: tuple, shared: tuple = (), static: dict | None = None,
                max_workers: int | None = None):
    """`jitted(*runs, *shared, **static)` with the runs split into up to `max_workers` (default
    `workers()`) groups of equal size that execute side by side (`run_all`): one program of R
    vmapped runs keeps about one core busy, one per core keeps them all.

    `jitted` is a `jax.jit` function whose static arguments are exactly `static`'s keywords; it
    is compiled once (`compile_lowered`) for a group's shapes. `runs`: a tuple of arrays (typed
    keys included), each with a leading run axis R; the last group is padded with copies of the
    last run. `shared`: arguments every group takes whole.

    Returns:
      `jitted`'s result (a pytree whose leaves have a leading run axis) for the R runs, as NumPy.
    """
    static = static or {}
    count = len(jax.tree.leaves(runs)[0])
    groups = min(count, workers() if max_workers is None else
                 check_positive_int(max_workers, "max_workers"))
    size = -(-count // groups)
    rows = np.minimum(np.arange(groups * size), count - 1).reshape(groups, size)
    shared = jax.device_put(shared)
    program = compile_lowered(jitted.lower(*_take(runs, rows[0]), *shared, **static))
    results = run_all(lambda group, stop: jax.device_get(program(*_take(runs, group), *shared)),
                      list(rows), groups)
    return jax.tree.map(lambda *parts: np.concatenate(parts)[:count], *results)


def _take(runs: tuple, rows) -> tuple:
    """The runs `rows` of every array of `runs`."""
    return tuple(jax.tree.map(lambda leaf: leaf[rows], runs))
