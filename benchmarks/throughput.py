"""Examples per second of the on-device stream `sample_batch`, beside its floor.

The floor is the same random draws (one `fold_in` and one `uniform` call per example, including
the conversion to normals) generated alone, jitted, in the same run. `--to-disk N` also writes N
examples in chunks and reports the time and the peak memory growth.

    python benchmarks/throughput.py [--sizes 1e3 1e4 1e5 1e6]
        [--impl threefry2x32|philox4x32|rbg|unsafe_rbg] [--to-disk N] [--json PATH]
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time

import jax
import jax.numpy as jnp

sys.path.insert(0, os.path.dirname(__file__))
from common import json_path, machine, median_time, print_table, write_json  # noqa: E402

import mnist1d_jax  # noqa: E402
from mnist1d_jax.draws import draw_labelled  # noqa: E402


def floor_fn(args, batch_size: int):
    """The draws alone, as `sample_batch` makes them."""
    @jax.jit
    def floor(key):
        index = jnp.arange(batch_size, dtype=jnp.uint32)
        return jax.vmap(lambda i: draw_labelled(jax.random.fold_in(key, i), args))(index)
    return floor


def stream_fn(args, batch_size: int):
    return jax.jit(lambda key: mnist1d_jax.sample_batch(key, args, batch_size))


def measure(args, batch_size: int, impl: str, repeats: int) -> dict:
    keys = iter(jax.random.split(jax.random.key(0, impl=impl), 1000))
    stream, floor = stream_fn(args, batch_size), floor_fn(args, batch_size)
    t_stream = median_time(lambda: stream(next(keys)), repeats=repeats)
    t_floor = median_time(lambda: floor(next(keys)), repeats=repeats)
    return {"batch_size": batch_size, "stream_s": t_stream, "floor_s": t_floor,
            "stream_per_s": batch_size / t_stream, "floor_per_s": batch_size / t_floor,
            "fraction_of_floor": t_floor / t_stream}


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def to_disk(n: int, chunk_size: int) -> dict:
    from mnist1d_jax import chunked

    args = mnist1d_jax.get_dataset_args(num_samples=n)
    with tempfile.TemporaryDirectory(dir=".") as folder:
        warm = mnist1d_jax.get_dataset_args(num_samples=chunk_size)
        chunked.write_dataset(os.path.join(folder, "warm"), None, warm, chunk_size=chunk_size)
        base, start = peak_mb(), time.perf_counter()
        chunked.write_dataset(os.path.join(folder, "d"), None, args, chunk_size=chunk_size)
        elapsed = time.perf_counter() - start
        return {"examples": n, "chunk_size": chunk_size, "seconds": elapsed,
                "per_s": n / elapsed, "peak_rss_growth_mb": peak_mb() - base,
                "peak_rss_mb": peak_mb()}


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=float, nargs="+", default=[1e3, 1e4, 1e5, 1e6])
    parser.add_argument("--impl", default="threefry2x32",
                        choices=["threefry2x32", "philox4x32", "rbg", "unsafe_rbg"],
                        help="PRNG implementation of the key (default threefry2x32, JAX's default)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--to-disk", type=int, default=0, metavar="N",
                        help="also write N examples to disk in chunks")
    parser.add_argument("--chunk-size", type=int, default=100_000)
    parser.add_argument("--json", type=json_path, help="write the results to this file")
    options = parser.parse_args(argv)

    # to disk first: the peak memory of the process must not include the large stream batches
    disk = to_disk(options.to_disk, options.chunk_size) if options.to_disk else None
    args = mnist1d_jax.get_dataset_args()
    rows = []
    for size in options.sizes:
        try:
            rows.append(measure(args, int(size), options.impl, options.repeats))
        except jax.errors.JaxRuntimeError as error:  # past the largest batch that fits
            print(f"batch {size:.0e}: {str(error).splitlines()[0][:120]}")
            break
    device = machine()
    print(f"{device['device']} ({device['platform']}), key impl {options.impl}")
    print_table([(f"{r['batch_size']:.0e}", f"{r['stream_per_s']:.3g}", f"{r['floor_per_s']:.3g}",
                  f"{r['fraction_of_floor']:.2f}") for r in rows],
                header=("batch", "sample_batch ex/s", "draws-only floor ex/s", "fraction"))
    results = {"impl": options.impl, "stream": rows}
    if disk:
        results["to_disk"] = disk
        print(f"to disk: {disk['examples']:.0e} examples in {disk['seconds']:.1f} s "
              f"({disk['per_s']:.3g}/s), peak memory growth {disk['peak_rss_growth_mb']:.0f} MB "
              f"(process peak {disk['peak_rss_mb']:.0f} MB)")
    if options.json:
        write_json(options.json, results)
    return results


if __name__ == "__main__":
    main()
