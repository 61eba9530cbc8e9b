"""Recovering the generator's arguments from data: gradient descent on the four float scales
(`scale_coeff`, `corr_noise_scale`, `iid_noise_scale`, `shear_scale`) through `sample_batch`,
so that fresh examples match a target set in distribution (`recover_arguments`).

The objective is a class-conditional maximum mean discrepancy (`class_mmd2`): a distance
between distributions whose population minimum is at the target's own arguments (a Gaussian
kernel is characteristic), estimated from draws independent of the target's, so nothing about
how the target was drawn is needed beyond its signals and labels.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from ...args import SCALE_FIELDS, as_args, jit_seedless
from ...checks import check_key, check_real
from ...dataset import sample_batch
from ..training import check_counts, check_data, check_learning_rate

__all__ = ["WIDTHS", "Recovery", "class_mmd2", "kernel_widths", "recover_arguments"]

WIDTHS = (0.1, 0.2, 0.5)
"""The Gaussian kernels' widths, as fractions of the target's median distance between two
signals: narrow enough to see the iid noise and the scale's spread, not only the class means."""


class Recovery(NamedTuple):
    """Per step: the four scales used (`SCALE_FIELDS` order) and the objective; `estimate`: the
    geometric mean of the scales over the second half of the steps (averaging the iterates
    removes most of the steps' sampling noise)."""

    scales: jax.Array
    loss: jax.Array
    estimate: jax.Array


def class_mmd2(x, x_labels, y, y_labels, widths):
    """Squared maximum mean discrepancy between the class-conditional distributions of two
    sets, pooled over classes: kernel means over same-class pairs only.

    x: (n, F), x_labels: (n,); y: (m, F), y_labels: (m,); widths: (K,) the widths of a sum of
    Gaussian kernels. Returns a scalar (a biased V-statistic: 0 when the sets are equal)."""
    def kernel_mean(a, a_labels, b, b_labels):
        distances = (jnp.sum(a * a, 1)[:, None] + jnp.sum(b * b, 1)[None]
                     - 2 * a @ b.T)
        kernel = jnp.exp(-distances[..., None] / (2 * widths * widths)).sum(-1)
        same = a_labels[:, None] == b_labels[None]
        return jnp.sum(kernel * same) / jnp.maximum(1, jnp.sum(same))
    return (kernel_mean(x, x_labels, x, x_labels) + kernel_mean(y, y_labels, y, y_labels)
            - 2 * kernel_mean(x, x_labels, y, y_labels))


def kernel_widths(x, fractions=WIDTHS, rows: int = 500) -> np.ndarray:
    """`fractions` of the median distance between two of the first `rows` signals of x (n, F):
    the kernels' widths (K,), float32."""
    sample = np.asarray(x[:rows], np.float64)
    distances = np.sqrt(np.maximum(0.0, ((sample[:, None] - sample[None]) ** 2).sum(-1)))
    median = np.median(distances[np.triu_indices(len(sample), 1)])
    return (median * np.asarray(fractions)).astype(np.float32)


@functools.partial(jit_seedless, static_argnames=("steps", "batch_size"))
def _recover(key, args, target: dict, widths, start, *, steps: int, batch_size: int,
             learning_rate) -> Recovery:
    optimizer = optax.adam(learning_rate)

    def objective(log_scales, i):
        scaled = args.replace(**dict(zip(SCALE_FIELDS, jnp.exp(log_scales))))
        batch = sample_batch(jax.random.fold_in(key, i), scaled, batch_size, normalize="none")
        return class_mmd2(batch["x"], batch["y"], target["x"], target["y"], widths)

    def step(carry, i):
        log_scales, state = carry
        loss, grad = jax.value_and_grad(objective)(log_scales, i)
        updates, state = optimizer.update(grad, state, log_scales)
        return (optax.apply_updates(log_scales, updates), state), (jnp.exp(log_scales), loss)

    _, (scales, losses) = jax.lax.scan(step, (start, optimizer.init(start)), jnp.arange(steps))
    estimate = jnp.exp(jnp.log(scales[steps // 2:]).mean(0))
    return Recovery(scales, losses, estimate)


def recover_arguments(key, args, target: dict, *, steps: int = 300, batch_size: int = 1000,
                      learning_rate: float = 0.05, widths=None) -> Recovery:
    """The four float scales that make `sample_batch` match `target` in distribution, learned
    by Adam on their logarithms (so they stay positive) from the scales of `args`.

    Args:
      key: a JAX key: step i draws its batch from `fold_in(key, i)`.
      args: `DatasetArgs` (or a mapping): where the learning starts (each scale > 0), and every
        other argument of the generator (the target's own, but for the four scales).
      target: `x` (n, final_seq_length) raw signals (`normalize="none"`), `y` (n,) labels.
      steps, batch_size: Adam steps and the examples generated per step.
      widths: the kernels' widths (default `kernel_widths(target["x"])`).

    Returns:
      `Recovery`: the scales and the objective per step, and the estimate.
    """
    args = as_args(args)
    target = check_data(target, ("x", "y"), "target")
    if target["x"].shape[1] != args.final_seq_length:
        raise ValueError(f"target['x'] has {target['x'].shape[1]} points but "
                         f"args.final_seq_length is {args.final_seq_length}")
    for field in SCALE_FIELDS:
        check_real(getattr(args, field), f"args.{field}", 0.0, 1e3, low_open=True)
    counts = check_counts(steps=steps, batch_size=batch_size)
    widths = kernel_widths(target["x"]) if widths is None else np.asarray(
        [check_real(w, f"widths[{i}]", 0.0, 1e6, low_open=True)
         for i, w in enumerate(np.ravel(widths).tolist())], np.float32)
    start = jnp.log(jnp.asarray(args.scales, jnp.float32))
    return _recover(check_key(key), args, target, jnp.asarray(widths), start, **counts,
                    learning_rate=check_learning_rate(learning_rate))
