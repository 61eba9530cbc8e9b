"""Metalearning the data (this package's own): the generator's four float arguments learned by
gradient descent so that an MLP trained only on freshly generated data does best on the
published test set (`meta.learn_augmentation`). The reference has no such experiment: its
"reference" numbers here are its default arguments, where the learning starts."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from ... import get_dataset_args, reference_dataset
from ...args import SCALE_FIELDS
from .. import meta
from .base import Stages, new_figure, outcome
from .registry import Experiment
from .result import Claim, Number

__all__ = ["EXPERIMENT", "SIZES", "draw", "run"]

SIZES = {"quick": dict(seeds=2, outer_steps=3, inner_steps=20),
         "full": dict(seeds=2, outer_steps=40, inner_steps=200)}


def run(key, settings, progress):
    """From the default arguments, for several keys split from `key`. Numbers: each learned
    argument and the target loss at the first and last outer step. Claim: the loss on the test
    set falls (each outer step trains from a fresh key on fresh data: a noisy curve, so the
    claim compares means of a few steps)."""
    args = get_dataset_args()
    data = reference_dataset(dtype="float32")
    target = {"x": jnp.asarray(data["x_test"]), "y": jnp.asarray(data["y_test"])}
    keys = jax.random.split(key, settings["seeds"])
    stages = Stages(progress, {f"run {i + 1}": 1 for i in range(len(keys))})
    runs = []
    for i, k in enumerate(keys):
        with stages(f"run {i + 1}"):
            runs.append(jax.device_get(meta.learn_augmentation(
                k, args, target, outer_steps=settings["outer_steps"],
                inner_steps=settings["inner_steps"])))
    scales = np.stack([run.scales for run in runs])  # (seed, outer step, field)
    losses = np.stack([run.target_loss for run in runs])  # (seed, outer step)
    numbers = [Number(f"{field} learned", scales[:, -1, i], getattr(args, field), "")
               for i, field in enumerate(SCALE_FIELDS)]
    numbers += [Number("test-set loss, first outer step", losses[:, 0], None, ""),
                Number("test-set loss, last outer step", losses[:, -1], None, "")]
    window = max(1, min(5, losses.shape[1] // 4))
    first, last = losses[:, :window].mean(), losses[:, -window:].mean()
    claims = [Claim(f"(this package's own) the loss on the published test set falls as the "
                    f"arguments are learned (mean of the first {window} outer steps against the "
                    f"last {window})", last < first, f"{first:.3f} -> {last:.3f}")]
    arrays = {"target_loss": losses.mean(0), "scales": scales.mean(0)}
    return outcome(numbers, claims, arrays, runs=runs)


def draw(result):
    """The loss on the published test set, and the four arguments, per outer step."""
    figure, axes = new_figure(10, 3.4, columns=2)
    axes[0, 0].plot(result.arrays["target_loss"])
    axes[0, 0].set(title="loss on the published test set", xlabel="outer step")
    for i, field in enumerate(SCALE_FIELDS):
        axes[0, 1].plot(result.arrays["scales"][:, i], label=field)
    axes[0, 1].set(title="generator arguments (mean of seeds)", xlabel="outer step")
    axes[0, 1].legend()
    for ax in axes[0]:
        ax.grid(alpha=0.3)
    figure.tight_layout()
    return figure


EXPERIMENT = Experiment(
    name="metalearned-data", title="Metalearning the data (new)", run=run,
    draw=draw, sizes=SIZES,
    figure_arrays={"target_loss": 1, "scales": 2},
    reference_time=(None, "no reference experiment"),
    smoke=dict(seeds=1, outer_steps=2, inner_steps=10))
