"""Metalearning an activation function (the reference's `metalearn-activation-function.ipynb`):
`elu + 0.2 * g`, g a tanh MLP 1-100-1, learned over 301 outer steps through 301 unrolled RMSprop
steps of an MLP 40-128-10 with noisy hidden units (`meta.learn_activation`), on the notebook's
10,000-example dataset, then compared with standard activations trained alike."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from ... import get_dataset_args, reference_dataset
from .. import meta
from .base import Stages, new_figure, outcome
from .registry import Experiment
from .result import Claim, Number, Tolerance

__all__ = ["EXAMPLES", "EXPERIMENT", "REFERENCE_LEARNED", "SHAPE", "SIZES", "STANDARD", "TESTED",
           "dataset", "draw", "run"]

STANDARD = {"relu": jax.nn.relu, "swish": jax.nn.swish, "elu": jax.nn.elu,
           "softplus": jax.nn.softplus, "tanh": jnp.tanh, "sigmoid": jax.nn.sigmoid}
REFERENCE_LEARNED = 68.4
"""The reference's test accuracy with its learned activation (its last outer step, one run)."""
EXAMPLES, TESTED = 10_000, 500
"""The reference's notebook regenerates MNIST-1D with 10,000 examples (8,000 train, 2,000 test)
and measures test accuracy on the first 500 test examples."""
SHAPE = (-4.0, -1.0)
"""Where the reference's README says its learned activation is positive (ELU is negative)."""
SIZES = {"quick": dict(outer_steps=10, inner_steps=301, last=200, seeds=2,
                       compared=("relu", "elu")),
         "full": dict(outer_steps=301, inner_steps=301, last=200, seeds=5,
                      compared=tuple(STANDARD))}


def dataset() -> dict:
    """The reference's notebook's dataset: `EXAMPLES` examples at the default arguments
    otherwise, the first `TESTED` test examples kept; float32 JAX arrays."""
    data = reference_dataset(get_dataset_args(num_samples=EXAMPLES), dtype="float32")
    return {"x": jnp.asarray(data["x"]), "y": jnp.asarray(data["y"]),
            "x_test": jnp.asarray(data["x_test"][:TESTED]),
            "y_test": jnp.asarray(data["y_test"][:TESTED])}


def run(key, settings, progress):
    """Learns the activation from `key`, then trains the MLP with it and with each standard
    activation from the same new keys. Numbers: the test accuracy of the last outer step's inner
    run (what the reference reports), and per activation with the new keys. Claims: the learned
    activation beats ELU (its starting point); it is positive on `SHAPE`, where ELU is
    negative (decided only after the reference's 301 outer steps)."""
    data = dataset()
    learn_key, test_key = jax.random.split(key)
    stages = Stages(progress, {"learning the activation": 10, "comparing": 1})
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
    numbers = [Number("test accuracy of the last outer step's inner run (the reference's "
                      "number)", history.test_acc[-1], REFERENCE_LEARNED)]
    numbers += [Number(f"test accuracy, {name} ({settings['seeds']} new initial weights)",
                       scores[name]) for name in candidates]
    xs = jnp.linspace(-5, 5, 201)
    learned = np.asarray(meta.learned_activation(history.params, xs))
    inside = (xs >= SHAPE[0]) & (xs <= SHAPE[1])
    lowest, elu_highest = learned[inside].min(), float(jax.nn.elu(SHAPE[1]))
    claims = [Claim("the learned activation beats ELU", scores["learned"].mean()
                    > scores["elu"].mean(),
                    f"learned {scores['learned'].mean():.1f}, elu {scores['elu'].mean():.1f}"),
              Claim(f"the learned activation is positive between {SHAPE[0]:g} and {SHAPE[1]:g}, "
                    f"where ELU is negative", lowest > 0,
                    f"its least value there {lowest:.2f}; ELU's greatest {elu_highest:.2f}",
                    at_size=settings["outer_steps"] >= SIZES["full"]["outer_steps"])]
    arrays = {"outer_loss": history.outer_loss, "test_acc": history.test_acc, "x": xs,
              "learned": learned, "elu": jax.nn.elu(xs), "relu": jax.nn.relu(xs)}
    return outcome(numbers, claims, arrays, params=history.params)


def draw(result):
    """The outer loss and the inner run's test accuracy per outer step, and the learned
    activation beside elu and relu."""
    figure, axes = new_figure(13, 3.4, columns=3)
    axes[0, 0].plot(result.arrays["outer_loss"])
    axes[0, 0].set(title="outer loss (mean of the last inner losses)", xlabel="outer step")
    axes[0, 1].plot(result.arrays["test_acc"], label="learned (this outer step)")
    axes[0, 1].axhline(REFERENCE_LEARNED, color="grey", ls="--", label="reference, last step")
    axes[0, 1].set(title=f"test accuracy (first {TESTED} test examples, %)", xlabel="outer step")
    axes[0, 1].legend()
    x = result.arrays["x"]
    for name, style in (("learned", "-"), ("elu", "--"), ("relu", ":")):
        axes[0, 2].plot(x, result.arrays[name], style, label=name)
    axes[0, 2].axvspan(*SHAPE, color="grey", alpha=0.15)
    axes[0, 2].set(title="the learned activation on [-5, 5]")
    axes[0, 2].legend()
    for ax in axes[0]:
        ax.grid(alpha=0.3)
    figure.tight_layout()
    return figure


EXPERIMENT = Experiment(
    name="activation", title="Metalearning an activation function", run=run,
    draw=draw, sizes=SIZES, choices={"compared": tuple(STANDARD)},
    figure_arrays={"outer_loss": 1, "test_acc": 1, "x": 1, "learned": 1, "elu": 1, "relu": 1},
    reference_time=(480.0, "its notebook's log: 301 outer steps at about 1.6 s (GPU)"),
    smoke=dict(seeds=1, outer_steps=1, inner_steps=10, last=10, compared=["elu"]),
    tolerance=Tolerance(3.0))
