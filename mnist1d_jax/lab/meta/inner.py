"""The metalearning inner models and loops: `nn.FeedForward` MLPs as parameter states
(`nn.init`, `nn.apply`), plain SGD (`inner_sgd`, differentiable with respect to its learning
rate) and explicit backpropagation (`mlp_loss_and_grad`), all pure functions of the state so that
an unrolled inner loop can be differentiated."""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
from flax import nnx

from ..nn import FeedForward, apply, state_with
from ..training import batch_rows, cross_entropy

__all__ = ["cyclic_batch", "draw_hidden_noise", "inner_sgd", "layer_arrays", "mlp_logits",
           "mlp_loss_and_grad", "with_slope"]


def layer_arrays(params: nnx.State) -> list:
    """A `FeedForward` parameter state's layers as `(kernel (in, out), bias (out,))` arrays, in
    order."""
    layers = nnx.to_pure_dict(params)["layers"]
    return [(layers[i]["kernel"], layers[i]["bias"]) for i in range(len(layers))]


def cyclic_batch(x, y, step, batch_size: int):
    """The reference's batch of update `step` (`training.batch_rows`)."""
    rows, _ = batch_rows(step, batch_size, x.shape[0])
    return x[rows], y[rows]


def inner_sgd(params, learning_rate, x, y, steps: int, batch_size: int, activation=jnp.tanh):
    """Plain SGD for `steps` steps on cyclic batches. Returns (final params, losses (steps,)),
    differentiable with respect to `learning_rate` and `params`."""
    def step(params, i):
        xb, yb = cyclic_batch(x, y, i, batch_size)
        loss, grads = jax.value_and_grad(
            lambda p: cross_entropy(apply(FeedForward, p, xb, activation=activation), yb))(params)
        return jax.tree.map(lambda p, g: p - learning_rate * g, params, grads), loss
    return jax.lax.scan(step, params, jnp.arange(steps))


def draw_hidden_noise(key, params: nnx.State, scale):
    """`scale * U(-1, 1)` for each hidden layer of the `FeedForward` with parameters `params`:
    a list of arrays (hidden,), one per hidden layer, drawn from `key` (`mlp_loss_and_grad`'s
    `noise`)."""
    layers = layer_arrays(params)[:-1]
    keys = jax.random.split(key, len(layers))
    return [scale * jax.random.uniform(k, bias.shape, bias.dtype, -1.0, 1.0)
            for k, (_, bias) in zip(keys, layers)]


def with_slope(activation: Callable) -> Callable:
    """An elementwise `activation` -> a function `x -> (activation(x), activation'(x))`,
    the slope by forward-mode differentiation."""
    return lambda x: jax.jvp(activation, (x,), (jnp.ones_like(x),))


def _forward(layers: list, activation_and_slope: Callable, x, noise):
    """The MLP's forward pass: each hidden layer's input, the activation's slopes there, and the
    logits. `noise`: one array (hidden,) per hidden layer added to its output, or None."""
    inputs, slopes = [], []
    for i, (kernel, bias) in enumerate(layers[:-1]):
        inputs.append(x)
        x, slope = activation_and_slope(x @ kernel + bias)
        if noise is not None:
            x = x + noise[i]
        slopes.append(slope)
    inputs.append(x)
    return inputs, slopes, x @ layers[-1][0] + layers[-1][1]


def mlp_logits(params: nnx.State, activation_and_slope: Callable, x, noise=None):
    """The logits (batch, classes) of the `FeedForward` with parameters `params` on x
    (batch, in); `activation_and_slope` and `noise` as in `mlp_loss_and_grad`."""
    return _forward(layer_arrays(params), activation_and_slope, x, noise)[2]


def mlp_loss_and_grad(params: nnx.State, activation_and_slope: Callable, x, y, noise=None):
    """Cross-entropy of the `FeedForward` with parameters `params` on x and integer labels `y`,
    and its gradient with respect to `params` (a state of the same structure), by explicit
    backpropagation (the same values as `jax.value_and_grad`).

    x: (batch, in); y: (batch,). `activation_and_slope(z) -> (value, slope)` elementwise.
    `noise`: None, or one array (hidden,) per hidden layer, added to that layer's activations
    (the same for every example of the batch; the reference's learned-activation notebook adds
    `0.1 * U(-1, 1)` there). Writing the backward pass out lets a learned activation give its
    value and slope from one shared evaluation, which makes differentiating through many such
    steps several times cheaper.
    """
    layers = layer_arrays(params)
    inputs, slopes, logits = _forward(layers, activation_and_slope, x, noise)
    delta = (jax.nn.softmax(logits) - jax.nn.one_hot(y, logits.shape[-1], dtype=logits.dtype)
             ) / logits.shape[0]
    grads = []
    for i in reversed(range(len(layers))):
        grads.append((inputs[i].T @ delta, delta.sum(0)))
        if i:
            delta = (delta @ layers[i][0].T) * slopes[i - 1]
    return cross_entropy(logits, y), state_with(params, {"layers": {
        i: {"kernel": kernel, "bias": bias} for i, (kernel, bias) in enumerate(grads[::-1])}})
