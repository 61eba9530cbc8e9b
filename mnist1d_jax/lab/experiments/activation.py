"""Metalearning an activation function (the reference's `metalearn-activation-function.ipynb`):
`elu + 0.2 * g`, g a tanh MLP 1-100-1, learned through 301 unrolled RMSprop steps of an MLP
40-128-10 (`meta.learn_activation`), then compared with standard activations trained alike."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from ... import reference_dataset
from .. import meta
from .base import Stages, new_figure, outcome
from .registry import Experiment
from .result import Claim, Number, Tolerance

__all__ = ["EXPERIMENT", "REFERENCE_LEARNED", "SIZES", "STANDARD", "draw", "run"]

STANDARD = {"relu": jax.nn.relu, "swish": jax.nn.swish, "elu": jax.nn.elu,
            "softplus": jax.nn.softplus, "tanh": jnp.tanh, "sigmoid": jax.nn.sigmoid}
REFERENCE_LEARNED = 68.4
"""The reference's test accuracy with its learned activation (its last outer step, one run)."""
SIZES = {"quick": dict(outer_steps=2, inner_steps=30, last=20, seeds=2, compared=("elu",)),
         "full": dict(outer_steps=40, inner_steps=301, last=200, seeds=5,
                      compared=tuple(STANDARD))}


def run(key, settings, progress):
    """Learns the activation from `key`, then trains the MLP with it and with each standard
    activation from the same keys. Numbers: test accuracy per activation. Claim: the learned
    activation beats ELU (its starting point)."""
    data = {k: jnp.asarray(v) for k, v in reference_dataset(dtype="float32").items()
            if k in ("x", "y", "x_test", "y_test")}
    learn_key, test_key = jax.random.split(key)
    stages = Stages(progress, {"learning the activation": 3, "comparing": 1})
    with stages("learning the activation"):
        history = jax.block_until_ready(meta.learn_activation(
            learn_key, data, outer_steps=settings["outer_steps"],
            inner_steps=settings["inner_steps"], last=settings["last"]))
    keys = jax.random.split(test_key, settings["seeds"])
    candidates = {"learned": history.params} | {n: STANDARD[n] for n in settings["compared"]}
    with stages("comparing"):
        scores = {name: np.asarray(meta.train_with_activation(
            keys, function, data, steps=settings["inner_steps"])[1])
            for name, function in candidates.items()}
    numbers = [Number(f"test accuracy, {name}", scores[name],
                      REFERENCE_LEARNED if name == "learned" else None) for name in candidates]
    claims = [Claim("the learned activation beats ELU", scores["learned"].mean()
                    > scores["elu"].mean(),
                    f"learned {scores['learned'].mean():.1f}, elu {scores['elu'].mean():.1f}")]
    xs = jnp.linspace(-5, 5, 201)
    arrays = {"outer_loss": history.outer_loss, "x": xs,
              "learned": meta.learned_activation(history.params, xs), "elu": jax.nn.elu(xs),
              "relu": jax.nn.relu(xs)}
    return outcome(numbers, claims, arrays, params=history.params)


def draw(result):
    """The outer loss per outer step, and the learned activation beside elu and relu."""
    figure, axes = new_figure(10, 3.4, columns=2)
    axes[0, 0].plot(result.arrays["outer_loss"])
    axes[0, 0].set(title="mean of the last inner losses", xlabel="outer step")
    x = result.arrays["x"]
    for name, style in (("learned", "-"), ("elu", "--"), ("relu", ":")):
        axes[0, 1].plot(x, result.arrays[name], style, label=name)
    axes[0, 1].set(title="the learned activation on [-5, 5]")
    axes[0, 1].legend()
    for ax in axes[0]:
        ax.grid(alpha=0.3)
    figure.tight_layout()
    return figure


EXPERIMENT = Experiment(
    name="activation", title="Metalearning an activation function", run=run,
    draw=draw, sizes=SIZES, choices={"compared": tuple(STANDARD)},
    figure_arrays={"outer_loss": 1, "x": 1, "learned": 1, "elu": 1, "relu": 1},
    reference_time=(480.0, "its notebook's log: 301 outer steps at about 1.6 s (GPU); ours runs "
                    "40 outer steps"),
    smoke=dict(seeds=1, outer_steps=1, inner_steps=10, last=10),
    tolerance=Tolerance(3.0))
