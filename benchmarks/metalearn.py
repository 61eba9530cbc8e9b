"""Metalearning timings: experiment 1 (learning rate) whole, and one compiled outer step of
experiments 1 and 2 (activation function, on its experiment's dataset: 8,000 training and the
first 500 test examples, hidden noise as the reference's notebook).

    python benchmarks/metalearn.py [--json PATH]

The JSON holds `lr_from_1.5`, `lr_from_0.15` (final learning rates), `experiment1_wall_s` (both
starts, 50 outer steps each, compilation included), `experiment1_outer_step_s` and
`experiment2_outer_step_s` (warm, median).
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import time

import jax
import jax.numpy as jnp

sys.path.insert(0, os.path.dirname(__file__))
from common import json_path, median_time, print_table, write_json  # noqa: E402

import mnist1d_jax  # noqa: E402
from mnist1d_jax.lab import meta  # noqa: E402


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=json_path, help="write the results here")
    options = parser.parse_args(argv)
    data = {k: jnp.asarray(v) for k, v in mnist1d_jax.reference_dataset(dtype="float32").items()
            if k in ("x", "y", "x_test", "y_test")}
    key = jax.random.key(0)

    start = time.perf_counter()
    runs = {lr: jax.block_until_ready(meta.learn_learning_rate(key, data, lr))
            for lr in (1.5, 0.15)}
    experiment1 = time.perf_counter() - start

    one_step_1 = median_time(lambda: meta.learn_learning_rate(key, data, 0.5, outer_steps=1),
                             repeats=5)
    activation_data = importlib.import_module("mnist1d_jax.lab.experiments.activation").dataset()
    one_step_2 = median_time(lambda: meta.learn_activation(key, activation_data, outer_steps=1),
                             repeats=7)

    final = {lr: float(run.learning_rate[-1]) for lr, run in runs.items()}
    print_table([("experiment 1: final lr from 1.5", f"{final[1.5]:.3f}"),
                 ("experiment 1: final lr from 0.15", f"{final[0.15]:.3f}"),
                 ("experiment 1: both runs, 50 outer steps, incl. compile", f"{experiment1:.2f} s"),
                 ("experiment 1: one outer step (warm)", f"{one_step_1 * 1e3:.1f} ms"),
                 ("experiment 2: one outer step (warm)", f"{one_step_2 * 1e3:.1f} ms")],
                ("measure", "value"))
    payload = {"lr_from_1.5": final[1.5], "lr_from_0.15": final[0.15],
               "experiment1_wall_s": experiment1, "experiment1_outer_step_s": one_step_1,
               "experiment2_outer_step_s": one_step_2}
    if options.json:
        write_json(options.json, payload)
    return payload


if __name__ == "__main__":
    main()
