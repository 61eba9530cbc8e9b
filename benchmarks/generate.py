"""Default dataset: this package against the reference `mnist1d.data.make_dataset`, same run.

Warm: median of several calls of an already compiled generator (reference: of several calls).
Cold: whole new processes writing the default dataset to a pickle, in paired rounds (each round
runs every variant once, in turn): the reference (`make_dataset` + `to_pickle`), and
`mnist1d-jax generate --out FILE` without the compilation cache, with an empty cache (a first
run) and with a filled cache (second and later runs). Medians over rounds, and the median of the
per-round ratios to the reference.
Floor: the same random draws generated alone (jitted), warm.

    python benchmarks/generate.py [--json PATH] [--repeats N]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

import jax

sys.path.insert(0, os.path.dirname(__file__))
from common import json_path, median_time, print_table, write_json  # noqa: E402

import mnist1d_jax  # noqa: E402
from mnist1d_jax.draws import draw_batch  # noqa: E402

REFERENCE_PROCESS = ("from mnist1d.data import make_dataset, get_dataset_args; "
                     "from mnist1d.utils import to_pickle; "
                     "to_pickle(make_dataset(get_dataset_args()), {out!r})")


def _process_seconds(command: list, env: dict) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=True, env=env, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def cold_processes(rounds: int, folder: str) -> dict:
    """Wall seconds of whole processes, `rounds` paired rounds (see the module docstring)."""
    cache_home = os.path.join(folder, "cache-home")
    base = {k: v for k, v in os.environ.items() if k != "MNIST1D_JAX_NO_CACHE"}
    cli = [sys.executable, "-m", "mnist1d_jax", "generate", "--out"]
    variants = {
        "reference": lambda i: ([sys.executable, "-c", REFERENCE_PROCESS.format(
            out=os.path.join(folder, f"ref{i}.pkl"))], base),
        "no_cache": lambda i: ([*cli, os.path.join(folder, f"plain{i}.pkl"), "--no-cache"], base),
        "first_run": lambda i: ([*cli, os.path.join(folder, f"first{i}.pkl")],
                                {**base, "XDG_CACHE_HOME": os.path.join(folder, f"empty{i}")}),
        "cached": lambda i: ([*cli, os.path.join(folder, f"cached{i}.pkl")],
                             {**base, "XDG_CACHE_HOME": cache_home}),
    }
    _process_seconds(*variants["cached"](-1))  # fills the cache
    times = {name: [] for name in variants}
    for i in range(rounds):
        for name, variant in variants.items():
            times[name].append(_process_seconds(*variant(i)))
    ratios = {name: statistics.median(t / r for t, r in zip(times[name], times["reference"]))
              for name in variants if name != "reference"}
    return {"median_s": {name: statistics.median(t) for name, t in times.items()},
            "runs_s": times, "median_ratio_to_reference": ratios}


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=json_path, help="write the results to this file")
    parser.add_argument("--repeats", type=int, default=5, help="warm calls of the reference")
    parser.add_argument("--rounds", type=int, default=7, help="paired rounds of whole processes")
    options = parser.parse_args(argv)

    import mnist1d.data as reference

    args = mnist1d_jax.get_dataset_args()
    keys = iter(jax.random.split(jax.random.key(0), 1000))
    warm = median_time(lambda: mnist1d_jax.make_dataset(next(keys), args), repeats=21)
    draws = jax.jit(lambda k: draw_batch(k, args, args.num_samples))
    floor = median_time(lambda: draws(next(keys)), repeats=21)
    ref_args = reference.get_dataset_args()
    ref_warm = median_time(lambda: reference.make_dataset(ref_args), repeats=options.repeats)
    with tempfile.TemporaryDirectory() as folder:
        cold = cold_processes(options.rounds, folder)
    median, ratio = cold["median_s"], cold["median_ratio_to_reference"]

    results = {
        "num_samples": args.num_samples,
        "warm_s": {"mnist1d_jax": warm, "reference": ref_warm, "draws_floor": floor},
        "cold_processes": cold,
        "warm_speedup": ref_warm / warm,
        "warm_over_floor": warm / floor,
    }
    print_table([
        ("warm (compiled)", f"{warm * 1e3:.2f} ms", f"{ref_warm * 1e3:.0f} ms",
         f"{results['warm_speedup']:.0f}x faster"),
        *[(f"whole process, {label}", f"{median[name]:.2f} s", f"{median['reference']:.2f} s",
           f"{ratio[name]:.2f}x time") for name, label in (
              ("no_cache", "no cache"), ("first_run", "first run (empty cache)"),
              ("cached", "later runs (cache)"))],
        ("draws alone (floor)", f"{floor * 1e3:.2f} ms", "", f"{warm / floor:.2f}x floor"),
    ], header=("default dataset, 5000 examples", "mnist1d_jax", "reference", "comparison"))
    if options.json:
        write_json(options.json, results)
    return results


if __name__ == "__main__":
    main()
