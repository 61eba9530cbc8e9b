"""Whether `lab.host_keys` still pays: a sweep's model keys and initialisation words derived by
JAX (a jitted program: its compilation is paid before the first bucket can start) against the
same derivation restated in NumPy on the host, in the same run, for the double-descent sweep's
sizes (19 MLP widths x 3 seeds). The two results are checked equal bit for bit.

    python benchmarks/host_keys.py [--json PATH]
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from common import json_path, median_time, print_table, write_json  # noqa: E402

from mnist1d_jax.lab import sweeps  # noqa: E402


def jax_derivation(key, seeds, widths, sizes):
    """`sweeps._model_keys` as JAX computes it: fold_in of seed, width and size, then 8 x 4 bits."""
    def one(seed, width, size):
        model = jax.random.fold_in(jax.random.fold_in(jax.random.fold_in(key, seed), width), size)
        return jax.random.key_data(model), jax.random.bits(jax.random.fold_in(model, 2**31),
                                                           (8, 4))
    per_seed = jax.vmap(one, (0, None, None))
    return jax.vmap(per_seed, (None, 0, 0))(seeds, widths, sizes)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=json_path, help="write the results here")
    options = parser.parse_args(argv)
    key = jax.random.key(0)
    widths = np.unique(np.geomspace(2, 300, 20, dtype=int)).astype(np.uint32)
    seeds = np.arange(3, dtype=np.uint32)
    sizes = np.full(len(widths), 4000, np.uint32)

    start = time.perf_counter()
    derive = jax.jit(jax_derivation)
    keys, words = jax.block_until_ready(derive(key, jnp.asarray(seeds), jnp.asarray(widths),
                                               jnp.asarray(sizes)))
    jax_first = time.perf_counter() - start
    jax_warm = median_time(lambda: derive(key, seeds, widths, sizes))
    start = time.perf_counter()
    host_result = sweeps._model_keys(key, seeds, widths, sizes)
    host_first = time.perf_counter() - start
    host_warm = median_time(lambda: sweeps._model_keys(key, seeds, widths, sizes))
    same = bool(np.array_equal(np.asarray(keys), host_result[0])
                and np.array_equal(np.asarray(words), host_result[1]))

    print_table([("JAX, first call (trace + compile + run)", f"{jax_first * 1e3:.0f} ms"),
                 ("JAX, warm", f"{jax_warm * 1e3:.2f} ms"),
                 ("host (NumPy), first call", f"{host_first * 1e3:.2f} ms"),
                 ("host (NumPy), warm", f"{host_warm * 1e3:.2f} ms"),
                 ("first-call ratio JAX / host", f"{jax_first / host_first:.0f}x"),
                 ("bit-identical", str(same))], ("measure", "value"))
    payload = {"jax_first_s": jax_first, "jax_warm_s": jax_warm, "host_first_s": host_first,
               "host_warm_s": host_warm, "identical": same, "models": int(len(widths) * 3)}
    if options.json:
        write_json(options.json, payload)
    return payload


if __name__ == "__main__":
    main()
