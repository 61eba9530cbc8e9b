"""Metalearning the learning rate (the reference's `metalearn-learn-rate.ipynb`): SGD's learning
rate of an MLP 40-50-10 learned through 200 unrolled inner steps, from 1.5 and from 0.15
(`meta.learn_learning_rate`)."""

from __future__ import annotations

import jax
import numpy as np

from ... import reference_dataset
from .. import meta
from .base import Stages, new_figure, outcome
from .registry import Experiment
from .result import Claim, Number, Tolerance

__all__ = ["EXPERIMENT", "NEAR", "REFERENCE_RATE", "SIZES", "STARTS", "draw", "run"]

STARTS = (1.5, 0.15)
REFERENCE_RATE = 0.62
"""Where the reference's runs settle (about 0.62 from both starts)."""
NEAR = 0.05
""""Near" the reference's rate: within this."""
SIZES = {"quick": dict(seeds=2, outer_steps=50), "full": dict(seeds=3, outer_steps=50)}


def run(key, settings, progress):
    """Both starts, each from several keys (split from `key`). Numbers: the final learning rate
    from each start. Claim: both within `NEAR` of 0.62."""
    data = {k: v for k, v in reference_dataset(dtype="float32").items()
            if k in ("x", "y", "x_test", "y_test")}
    keys = jax.random.split(key, settings["seeds"])
    stages = Stages(progress, {f"from {lr}": 1 for lr in STARTS})
    runs = {}
    for lr in STARTS:
        with stages(f"from {lr}"):
            runs[lr] = [jax.device_get(meta.learn_learning_rate(k, data, lr,
                                                                outer_steps=settings["outer_steps"]))
                        for k in keys]
    final = {lr: np.array([run.learning_rate[-1] for run in runs[lr]]) for lr in STARTS}
    numbers = [Number(f"learning rate learned from {lr}", final[lr], REFERENCE_RATE, "")
               for lr in STARTS]
    claims = [Claim(f"both starts end near {REFERENCE_RATE} (within {NEAR})",
                    all(abs(final[lr].mean() - REFERENCE_RATE) < NEAR for lr in STARTS),
                    ", ".join(f"from {lr}: {final[lr].mean():.3f}" for lr in STARTS))]
    arrays = {}
    for lr in STARTS:
        for field in ("learning_rate", "outer_loss", "final_inner_loss"):
            arrays[f"{lr}/{field}"] = np.mean([getattr(run, field) for run in runs[lr]], 0)
    return outcome(numbers, claims, arrays, runs=runs)


def draw(result):
    """Outer loss, final inner loss and learning rate per outer step, for both starts."""
    figure, axes = new_figure(13, 3.4, columns=3)
    fields = (("outer_loss", "outer loss (mean inner loss)"),
              ("final_inner_loss", "final inner loss"), ("learning_rate", "learning rate"))
    for ax, (field, title) in zip(axes[0], fields):
        for lr in STARTS:
            ax.plot(result.arrays[f"{lr}/{field}"], label=f"from {lr}")
        ax.set(title=title, xlabel="outer step")
        ax.grid(alpha=0.3)
    axes[0, 2].axhline(REFERENCE_RATE, color="k", linestyle=":", label="reference")
    axes[0, 2].legend()
    figure.tight_layout()
    return figure


EXPERIMENT = Experiment(
    name="learning-rate", title="Metalearning the learning rate", run=run,
    draw=draw, sizes=SIZES,
    figure_arrays={"*/*": 1},
    reference_time=(90.0, "its notebook's log: 50 outer steps at about 0.9 s, from each start "
                          "(GPU)"),
    smoke=dict(seeds=1, outer_steps=2),
    tolerance=Tolerance(NEAR))
