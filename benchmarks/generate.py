"""Default dataset: this package against the reference `mnist1d.data.make_dataset`, same run.

Warm: median of several calls of an already compiled generator (reference: of several calls).
Cold: a whole new Python process (import, compile, generate), median of several processes.
Floor: the same random draws generated alone (jitted), warm.

    python benchmarks/generate.py [--json PATH] [--repeats N]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

import jax

sys.path.insert(0, os.path.dirname(__file__))
from common import json_path, median_time, print_table, write_json  # noqa: E402

import mnist1d_jax  # noqa: E402
from mnist1d_jax.draws import draw_batch  # noqa: E402

COLD = {
    "mnist1d_jax": "import jax, mnist1d_jax; jax.block_until_ready(mnist1d_jax.make_dataset())",
    "reference": "import mnist1d.data as R; R.make_dataset(R.get_dataset_args())",
}


def cold_time(code: str, repeats: int) -> float:
    """Median wall time of a fresh interpreter running `code`."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=json_path, help="write the results to this file")
    parser.add_argument("--repeats", type=int, default=5)
    options = parser.parse_args(argv)

    import mnist1d.data as reference

    args = mnist1d_jax.get_dataset_args()
    keys = iter(jax.random.split(jax.random.key(0), 1000))
    warm = median_time(lambda: mnist1d_jax.make_dataset(next(keys), args), repeats=21)
    draws = jax.jit(lambda k: draw_batch(k, args, args.num_samples))
    floor = median_time(lambda: draws(next(keys)), repeats=21)
    ref_args = reference.get_dataset_args()
    ref_warm = median_time(lambda: reference.make_dataset(ref_args), repeats=options.repeats)
    cold = {name: cold_time(code, options.repeats) for name, code in COLD.items()}

    results = {
        "num_samples": args.num_samples,
        "warm_s": {"mnist1d_jax": warm, "reference": ref_warm, "draws_floor": floor},
        "cold_s": cold,
        "warm_speedup": ref_warm / warm,
        "cold_speedup": cold["reference"] / cold["mnist1d_jax"],
        "warm_over_floor": warm / floor,
    }
    print_table([
        ("warm (compiled)", f"{warm * 1e3:.2f} ms", f"{ref_warm * 1e3:.0f} ms",
         f"{results['warm_speedup']:.0f}x"),
        ("cold (new process)", f"{cold['mnist1d_jax']:.2f} s", f"{cold['reference']:.2f} s",
         f"{results['cold_speedup']:.2f}x"),
        ("draws alone (floor)", f"{floor * 1e3:.2f} ms", "", f"{warm / floor:.2f}x floor"),
    ], header=("default dataset, 5000 examples", "mnist1d_jax", "reference", "speed-up"))
    if options.json:
        write_json(options.json, results)
    return results


if __name__ == "__main__":
    main()
