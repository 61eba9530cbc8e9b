"""The paper's table (Greydanus & Kobak 2024, Table 1): logistic regression, MLP, CNN and GRU
trained with the reference's settings (`training.TrainConfig`) on the published dataset and on a
copy whose positions are shuffled by one fixed permutation."""

from __future__ import annotations

import jax
import numpy as np

from ... import reference_dataset
from .. import nn, training
from .base import Stages, band, draw_band, new_figure, outcome
from .registry import Experiment
from .result import Claim, Number, Tolerance

__all__ = ["COSTS", "EXPERIMENT", "NAMES", "SETTINGS", "SHUFFLE_HURTS", "SIZES", "draw", "run"]

SETTINGS = ("regular", "shuffled")
SIZES = {"quick": dict(seeds=2, total_steps=1000, eval_every=250),
         "full": dict(seeds=3, total_steps=6000, eval_every=250)}
COSTS = {"linear": 1, "mlp": 3, "cnn": 6, "gru": 15}  # relative wall times on a CPU
NAMES = {"linear": "logistic regression", "mlp": "MLP", "cnn": "CNN", "gru": "GRU"}
SHUFFLE_HURTS = 5.0
"""Shuffling "hurts" a model that loses more than this (points); the others stay within it."""


def run(key, settings, progress):
    """Every model of `nn.MODELS` on both settings, all seeds vmapped per pair.

    Numbers: final test accuracy per setting and model (reference: `training.PAPER`). Claims: the
    ordering CNN > GRU > MLP > logistic regression on regular data; shuffling costs the CNN and
    the GRU more than `SHUFFLE_HURTS` points and changes the others by less."""
    config = training.TrainConfig(total_steps=settings["total_steps"],
                                  eval_every=settings["eval_every"])
    data = reference_dataset(dtype="float32")
    datasets = {"regular": data, "shuffled": training.shuffle_positions(data, seed=0)}
    stages = Stages(progress, {f"{s} {m}": COSTS[m] for s in SETTINGS for m in nn.MODELS})
    stages.start(f"regular {next(iter(nn.MODELS))}")
    table = training.train_table(datasets, nn.MODELS, jax.random.split(key, settings["seeds"]),
                                 config=config, log=lambda s, m, *_: stages.finish(f"{s} {m}"))
    final = {(s, m): np.asarray(table[s][m]["result"]["test_acc"])[:, -1]
             for s in SETTINGS for m in nn.MODELS}
    numbers = [Number(f"{s}: {NAMES[m]}", final[s, m], training.PAPER[s][m])
               for s in SETTINGS for m in nn.MODELS]
    mean = {k: v.mean() for k, v in final.items()}
    order = ("cnn", "gru", "mlp", "linear")
    change = {m: mean["shuffled", m] - mean["regular", m] for m in nn.MODELS}
    claims = [
        Claim("regular: CNN > GRU > MLP > logistic regression",
              all(mean["regular", a] > mean["regular", b] for a, b in zip(order, order[1:])),
              " > ".join(f"{mean['regular', m]:.1f}" for m in order)),
        Claim(f"shuffling hurts the CNN and the GRU (each loses over {SHUFFLE_HURTS:g} points)",
              change["cnn"] < -SHUFFLE_HURTS and change["gru"] < -SHUFFLE_HURTS,
              f"CNN {change['cnn']:+.1f}, GRU {change['gru']:+.1f}"),
        Claim(f"and not the others (within {SHUFFLE_HURTS:g} points)",
              abs(change["linear"]) < SHUFFLE_HURTS and abs(change["mlp"]) < SHUFFLE_HURTS,
              f"logistic regression {change['linear']:+.1f}, MLP {change['mlp']:+.1f}")]
    arrays = {"eval_steps": config.eval_steps}
    for s, m in final:
        arrays |= band(f"{s}/{m}", table[s][m]["result"]["test_acc"], 0)
    return outcome(numbers, claims, arrays, table=table, datasets=datasets)


def draw(result):
    """Test accuracy during training, one panel per setting (mean over seeds, min-max band)."""
    figure, axes = new_figure(10, 3.6, columns=2, sharey=True)
    steps = result.arrays["eval_steps"]
    for ax, setting in zip(axes[0], SETTINGS):
        for m in COSTS:
            draw_band(ax, steps, result.arrays, f"{setting}/{m}", label=NAMES[m])
        ax.set(title=f"{setting} positions", xlabel="step", ylim=(0, 100))
        ax.grid(alpha=0.3)
    axes[0, 0].set_ylabel("test accuracy (%)")
    axes[0, 0].legend()
    figure.tight_layout()
    return figure


EXPERIMENT = Experiment(
    name="paper-table",
    title="The paper's table: models on regular and position-shuffled MNIST-1D", run=run,
    draw=draw, sizes=SIZES,
    figure_arrays={"eval_steps": 1, "*/*/*": 1},
    reference_time=(624.0, "its PyTorch loop on a 2-core CPU: 104 s per seed and setting "
                    "(benchmarks/paper_table.py), x 6"),
    smoke=dict(seeds=1, total_steps=100, eval_every=50),
    tolerance=Tolerance(3.0))
