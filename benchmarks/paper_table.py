"""The paper's table: four models on the original dataset and on its position-shuffled copy.

Trains `mnist1d_jax.models` with the reference's settings (`mnist1d_jax.train.TrainConfig`) on
`reference_dataset()` (the published data) and on one fixed permutation of its 40 positions,
`--seeds` seeds each (vmapped: one compiled call per model and setting), and prints mean and spread
of the final test accuracy beside the paper's figures. It times each model's whole one-seed run
(compilation included) and, where PyTorch is importable (never a dependency), the reference's own
PyTorch loop on the same data in the same run, and prints the ratio.

    python benchmarks/paper_table.py [--seeds 3] [--steps 6000] [--json PATH] [--png PATH]
                                     [--no-torch]
"""

from __future__ import annotations

import argparse
import os
import sys

import jax
import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from common import json_path, print_table, write_json  # noqa: E402

import mnist1d_jax  # noqa: E402
from mnist1d_jax.lab import nn, training  # noqa: E402


def one_seed_times(data, config) -> dict:
    """Wall seconds of the whole one-seed table per model, compilation included: `train_table`,
    which compiles each model in the background while the one before it trains; a model's time
    runs from the previous model's result to its own, so the times add up to the whole."""
    jax.clear_caches()  # a fair cold start: nothing compiled by earlier runs is reused
    table = training.train_table({"regular": data}, nn.MODELS, jax.random.key(0), config=config)
    return {name: entry["wall_s"] for name, entry in table["regular"].items()}


def torch_times(data, steps: int) -> dict | None:
    """The reference's PyTorch loop, one seed per model, or None without PyTorch."""
    try:
        import torch_reference
    except ImportError:
        return None
    return {name: torch_reference.time_model(name, data, total_steps=steps)
            for name in nn.MODELS}


def plot_curves(table: dict, config, path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, len(table), figsize=(5 * len(table), 3.6), sharey=True)
    for axis, (setting, rows) in zip(np.atleast_1d(axes), table.items()):
        for name, row in rows.items():
            curves = np.asarray(row["result"]["test_acc"])
            mean = curves.mean(0)
            line, = axis.plot(config.eval_steps, mean, label=name)
            axis.fill_between(config.eval_steps, curves.min(0), curves.max(0), alpha=0.2,
                              color=line.get_color())
        axis.set(title=f"{setting} positions", xlabel="step", ylim=(0, 100))
        axis.grid(alpha=0.3)
    np.atleast_1d(axes)[0].set_ylabel("test accuracy (%)")
    np.atleast_1d(axes)[0].legend()
    figure.tight_layout()
    from mnist1d_jax.plot import save_figure

    save_figure(figure, path)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3, help="seeds per model and setting")
    parser.add_argument("--steps", type=int, default=6000, help="training steps (reference: 6000)")
    parser.add_argument("--json", type=json_path, help="write the results here")
    parser.add_argument("--png", default=os.path.join(os.path.dirname(__file__), "results",
                                                      "paper_table.png"))
    parser.add_argument("--no-torch", action="store_true", help="skip the PyTorch comparison")
    options = parser.parse_args(argv)
    if options.seeds < 1:
        parser.error(f"--seeds must be >= 1; got {options.seeds}")
    config = training.TrainConfig(total_steps=options.steps,
                                  eval_every=min(250, options.steps))

    data = mnist1d_jax.reference_dataset(dtype="float32")
    datasets = {"regular": data, "shuffled": training.shuffle_positions(data, seed=0)}

    wall = one_seed_times(data, config)
    reference = None if options.no_torch else torch_times(data, options.steps)
    table = training.train_table(datasets, nn.MODELS,
                                 jax.random.split(jax.random.key(0), options.seeds), config=config)

    rows, accuracies = [], {}
    for setting, entries in table.items():
        accuracies[setting] = {}
        for name, entry in entries.items():
            final = np.asarray(entry["result"]["test_acc"])[:, -1]
            accuracies[setting][name] = float(final.mean())
            rows.append((setting, name, f"{final.mean():.1f} +- {final.std():.1f}",
                         f"{training.PAPER[setting][name]}", f"{entry['wall_s']:.1f}"))
    print(f"\nfinal test accuracy (%), {options.seeds} seeds, {options.steps} steps")
    print_table(rows, ("positions", "model", "mnist1d_jax", "paper", f"{options.seeds}-seed s"))

    timing_rows = []
    for name in nn.MODELS:
        torch_s = reference[name]["wall_s"] if reference else None
        timing_rows.append((name, f"{wall[name]:.1f}", "" if torch_s is None else f"{torch_s:.1f}",
                            "" if torch_s is None else f"{torch_s / wall[name]:.1f}x"))
    total = sum(wall.values())
    torch_total = sum(r["wall_s"] for r in reference.values()) if reference else None
    timing_rows.append(("all four", f"{total:.1f}", "" if torch_total is None else
                        f"{torch_total:.1f}", "" if torch_total is None else
                        f"{torch_total / total:.1f}x"))
    print("\none seed, whole table incl. compilation (s; each model compiled while the one "
          "before it trains)" +
          ("" if reference else " (PyTorch not importable: no reference timing)"))
    print_table(timing_rows, ("model", "mnist1d_jax", "PyTorch reference", "speed-up"))

    plot_curves(table, config, options.png)
    print(f"\ncurves: {options.png}")
    payload = {**accuracies, "wall_s": {**wall, "total": total}, "seeds": options.seeds,
               "steps": options.steps,
               "spread": {s: {n: float(np.asarray(e["result"]["test_acc"])[:, -1].std())
                              for n, e in entries.items()} for s, entries in table.items()},
               "torch": None if reference is None else {
                   "wall_s": {n: r["wall_s"] for n, r in reference.items()},
                   "test_acc": {n: float(r["test_acc"]) for n, r in reference.items()},
                   "speedup_total": torch_total / total}}
    if options.json:
        write_json(options.json, payload)
    return payload


if __name__ == "__main__":
    main()
