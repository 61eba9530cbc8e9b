"""The learned activation of the reference's metalearn-activation-function experiment:
`elu(x) + 0.2 * g(x)`, g a tanh MLP 1-100-1 (an `nn.FeedForward` parameter state), with its
value and slope from one evaluation of g and a hand-written VJP; and the inner loop that trains
an MLP with it (`inner_rmsprop`)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
import optax
from flax import nnx

from ..nn import FeedForward, apply
from .inner import cyclic_batch, draw_hidden_noise, layer_arrays, mlp_loss_and_grad, with_slope

__all__ = ["GAIN", "ActivationParams", "inner_rmsprop", "learned_activation",
           "learned_activation_and_slope", "noisy_call", "value_and_slope"]


GAIN = 0.2  # the learned activation is elu + GAIN * g


class ActivationParams(NamedTuple):
    """A learned activation: `elu(x) + 0.2 * g(x)`, `g` the state of a tanh MLP 1-100-1
    (`nn.init(nn.FeedForward, key, sizes=(1, 100, 1))`)."""

    g: nnx.State


def _elu_and_slopes(x):
    """elu(x), elu'(x) and elu''(x), elementwise."""
    elu = jax.nn.elu(x)
    exp = elu + 1.0  # exp(x) where x <= 0: elu's slope and curvature there
    return elu, jnp.where(x > 0, 1.0, exp), jnp.where(x > 0, 0.0, exp)


def _hidden(layers, x):
    """g's hidden layer: x (...) -> tanh(x * w_in + b_in) (..., hidden)."""
    (w_in, b_in), _ = layers
    return jnp.tanh(x[..., None] * w_in[0] + b_in)


@jax.custom_vjp
def _learned_value_and_slope(layers, x):
    (w_in, _), (w_out, b_out) = layers
    hidden = _hidden(layers, x)
    g = hidden @ w_out[:, 0] + b_out[0]
    g_slope = (1 - hidden * hidden) @ (w_in[0] * w_out[:, 0])
    elu, elu_slope, _ = _elu_and_slopes(x)
    return elu + GAIN * g, elu_slope + GAIN * g_slope


def _learned_forward(layers, x):
    return _learned_value_and_slope(layers, x), (layers, x)


def _learned_backward(residuals, cotangents):
    """The VJP of (f(x), f'(x)) written out: one recomputation of g's hidden layer h (cheaper
    than keeping it: measured), then every parameter's cotangent is a contraction of h,
    1 - h^2 or the hidden cotangent with one vector. Faster than the VJP that autodiff
    derives, and the reverse pass of an unrolled inner loop keeps only x per step, not h."""
    layers, x = residuals
    hidden = _hidden(layers, x)
    value_bar, slope_bar = cotangents
    (w_in, _), (w_out, _) = layers
    w_in, w_out = w_in[0], w_out[:, 0]
    one_minus_h2 = 1 - hidden * hidden
    _, elu_slope, elu_curvature = _elu_and_slopes(x)
    g_bar, g_slope_bar = GAIN * value_bar, GAIN * slope_bar
    pre_bar = (g_bar[..., None] * w_out
               - 2 * g_slope_bar[..., None] * (w_in * w_out) * hidden) * one_minus_h2
    flat = (x.size, w_in.shape[0])
    c_bar = g_slope_bar.reshape(-1) @ one_minus_h2.reshape(flat)  # cotangent of w_in * w_out
    layers_bar = [((x.reshape(-1) @ pre_bar.reshape(flat) + c_bar * w_out)[None],
                   pre_bar.reshape(flat).sum(0)),
                  ((g_bar.reshape(-1) @ hidden.reshape(flat) + c_bar * w_in)[:, None],
                   g_bar.sum()[None])]
    x_bar = pre_bar @ w_in + value_bar * elu_slope + slope_bar * elu_curvature
    return layers_bar, x_bar


_learned_value_and_slope.defvjp(_learned_forward, _learned_backward)


def learned_activation_and_slope(params: ActivationParams, x, noise=None):
    """Elementwise `f(x) = elu(x) + 0.2 * g(x)`, g a tanh MLP 1-`hidden`-1, and its slope
    `f'(x)`, both from one evaluation of g's hidden layer. x: any shape -> two arrays of x's
    shape. Reverse-mode differentiable (a hand-written VJP; forward mode is not defined).

    `noise`: None, or an array (hidden,) added to g's hidden units, as the reference's notebook
    does in every call of its learned activation (its g is the same noisy MLP as the inner
    model): a constant shift of f for this call, with no effect on the slope."""
    layers = layer_arrays(params.g)
    value, slope = _learned_value_and_slope(layers, x)
    if noise is not None:
        value = value + GAIN * (noise @ layers[1][0][:, 0])
    return value, slope


def learned_activation(params: ActivationParams, x):
    """Elementwise `elu(x) + 0.2 * g(x)`, g a tanh MLP 1-`hidden`-1. x: any shape. Plain JAX:
    differentiable in every mode (`learned_activation_and_slope` is the fast path for
    training)."""
    return jax.nn.elu(x) + GAIN * apply(FeedForward, params.g, x[..., None],
                                        activation=jnp.tanh)[..., 0]


def value_and_slope(activation, noise=None) -> Callable:
    """`ActivationParams` or an elementwise function -> `x -> (value, slope)`; `noise`: the
    learned activation's hidden noise for this call (`learned_activation_and_slope`; a plain
    function has no hidden units and ignores it)."""
    if isinstance(activation, ActivationParams):
        return functools.partial(learned_activation_and_slope, activation, noise=noise)
    return with_slope(activation)


def noisy_call(activation, key, params, noise_scale) -> tuple:
    """One forward pass's noise, as the reference's notebook draws it: `noise_scale * U(-1, 1)`
    on the inner MLP's hidden units (`draw_hidden_noise` of `params`) and, for a learned
    activation, on g's hidden units. Returns (the MLP's noise, the activation's value and
    slope for this pass)."""
    mlp_key, g_key = jax.random.split(key)
    g_noise = None
    if isinstance(activation, ActivationParams):
        g_noise = draw_hidden_noise(g_key, activation.g, noise_scale)[0]
    return draw_hidden_noise(mlp_key, params, noise_scale), value_and_slope(activation, g_noise)


def inner_rmsprop(params, activation, x, y, steps: int, batch_size: int,
                  learning_rate: float = 1e-2, decay: float = 0.4, noise_key=None,
                  noise_scale: float = 0.0):
    """RMSprop as the reference's learned-activation notebook writes it (its squared-gradient
    average starts at ones: `optax.rmsprop(initial_scale=1)`) for `steps` steps on cyclic
    batches. `activation`: an elementwise function or `ActivationParams`. With `noise_key`,
    each step adds `noise_scale * U(-1, 1)` to the hidden units (`noisy_call`, drawn from
    `fold_in(noise_key, step)`). Returns (final params, losses (steps,))."""
    optimizer = optax.rmsprop(learning_rate, decay=decay, eps=1e-8, eps_in_sqrt=False,
                              initial_scale=1.0)
    activation_and_slope = value_and_slope(activation)

    def step(carry, i):
        params, state = carry
        xb, yb = cyclic_batch(x, y, i, batch_size)
        noise, function = (None, activation_and_slope) if noise_key is None else noisy_call(
            activation, jax.random.fold_in(noise_key, i), params, noise_scale)
        loss, grads = mlp_loss_and_grad(params, function, xb, yb, noise)
        updates, state = optimizer.update(grads, state, params)
        return (optax.apply_updates(params, updates), state), loss

    (params, _), losses = jax.lax.scan(step, (params, optimizer.init(params)), jnp.arange(steps))
    return params, losses
