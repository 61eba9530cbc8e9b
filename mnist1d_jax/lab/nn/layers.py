"""PyTorch's layers as Flax NNX modules (`Dense`, `Conv1d`, `GRUCell`), initialised by
`nn.torch_uniform`, and `Width`: the state that masks a model padded for a width sweep.

A padded model allocates `padded` units (hidden units or channels) per hidden layer and uses the
first `width` of them: the others start at 0 (weights in and out), and their activations are
multiplied by 0, so they get no gradient and stay 0 under SGD or Adam. The width is state, not
structure: models of different widths padded alike share one graph definition, one compiled
program, and `vmap` together.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from .initializers import torch_uniform

__all__ = ["Dense", "Conv1d", "conv1d", "conv_output_length", "GRUCell", "gru_gates", "run_gru",
           "Width", "unit_mask", "mask_units"]


class Width(nnx.Variable):
    """The number of units of each hidden layer that are real in a padded model (an int32
    scalar; (k,) when k models are stacked)."""


def unit_mask(width, padded: int):
    """(padded,) float32: 1 for the first `width` units, 0 for the padding (NumPy for a Python
    or NumPy `width`, JAX for a traced one)."""
    xp = np if isinstance(width, (int, np.integer, np.ndarray)) else jnp
    return (xp.arange(padded) < width).astype(xp.float32)


def mask_units(layer, inputs=None, outputs=None) -> None:
    """Zeroes a `Dense` or `Conv1d` layer's weights from padded inputs (`inputs`: (in,) 0/1
    mask) and its weights and biases to padded outputs (`outputs`: (out,) 0/1 mask)."""
    kernel = layer.kernel[...]
    if inputs is not None:
        kernel = kernel * inputs[:, None]
    if outputs is not None:
        kernel = kernel * outputs
        layer.bias[...] = layer.bias[...] * outputs
    layer.kernel[...] = kernel


class Dense(nnx.Module):
    """`torch.nn.Linear(in_features, out_features)`: x @ kernel (in, out) + bias (out,).

    `fan_in` (default `in_features`) sets the initialisation's bound: a padded layer's real
    inputs. `draw_shape` (default `(in, out)`) is the shape the kernel is drawn in and reshaped
    from: a read-out over (positions, channels) is drawn as (positions, channels, out) so that
    its values do not depend on the channels' padding (`nn.UnitHash`)."""

    def __init__(self, in_features: int, out_features: int, *, rngs, fan_in: int | None = None,
                 draw_shape: tuple | None = None):
        fan_in = in_features if fan_in is None else fan_in
        shape = (in_features, out_features) if draw_shape is None else draw_shape
        self.kernel = nnx.Param(torch_uniform(rngs, shape, fan_in).reshape(in_features,
                                                                           out_features))
        self.bias = nnx.Param(torch_uniform(rngs, (out_features,), fan_in))

    def __call__(self, x):
        """x: (..., in) -> (..., out)."""
        return x @ self.kernel[...] + self.bias[...]


def conv_output_length(length: int, kernel_size: int, stride: int = 2) -> int:
    """Length after a padding-1 convolution."""
    return (length + 2 - kernel_size) // stride + 1


def conv1d(x, kernel, bias, stride: int = 2):
    """`torch.nn.functional.conv1d(..., stride, padding=1)`, channels-last, as one matrix
    product over extracted patches (static strided slices): on CPUs XLA runs this several times
    faster than a general convolution, forward and backward.

    x: (batch, length, in), kernel: (size, in, out), bias: (out,) -> (batch, length', out) with
    `length' = conv_output_length(length, size, stride)`.
    """
    size, features, _ = kernel.shape
    length = conv_output_length(x.shape[1], size, stride)
    padded = jnp.pad(x, ((0, 0), (1, 1), (0, 0)))
    patches = jnp.concatenate(
        [padded[:, j:j + stride * (length - 1) + 1:stride] for j in range(size)], -1)
    return patches @ kernel.reshape(size * features, -1) + bias


class Conv1d(nnx.Module):
    """`torch.nn.Conv1d(in, out, kernel_size, stride, padding=1)`, channels-last (`conv1d`);
    kernel (size, in, out). `fan_in` (default `in * size`) as for `Dense`."""

    def __init__(self, in_features: int, out_features: int, kernel_size: int, *, rngs,
                 stride: int = 2, fan_in: int | None = None):
        fan_in = in_features * kernel_size if fan_in is None else fan_in
        self.stride = stride
        self.kernel = nnx.Param(torch_uniform(rngs, (kernel_size, in_features, out_features),
                                              fan_in))
        self.bias = nnx.Param(torch_uniform(rngs, (out_features,), fan_in))

    def __call__(self, x):
        """x: (batch, length, in) -> (batch, conv_output_length(length, size, stride), out)."""
        return conv1d(x, self.kernel[...], self.bias[...], self.stride)


def gru_gates(gi, gh, h):
    """One GRU update from the input projections gi = (gi_r, gi_z, gi_n), the hidden projection
    gh (..., 3h) and the state h (..., h): r = sigmoid(gi_r + gh_r), z = sigmoid(gi_z + gh_z),
    n = tanh(gi_n + r * gh_n), h' = (1 - z) * n + z * h (PyTorch's gate order and equations)."""
    r_i, z_i, n_i = gi
    r_h, z_h, n_h = jnp.split(gh, 3, axis=-1)
    r, z = jax.nn.sigmoid(r_i + r_h), jax.nn.sigmoid(z_i + z_h)
    return (1 - z) * jnp.tanh(n_i + r * n_h) + z * h


class GRUCell(nnx.Module):
    """`torch.nn.GRU`'s parameters for one direction: W_ih (in, 3h), W_hh (h, 3h), b_ih, b_hh,
    3h(in + h + 2) numbers, uniform on +-1/sqrt(h) as PyTorch draws them."""

    def __init__(self, input_size: int, hidden_size: int, *, rngs):
        def draw(shape):
            return nnx.Param(torch_uniform(rngs, shape, hidden_size))
        self.w_ih = draw((input_size, 3 * hidden_size))
        self.w_hh = draw((hidden_size, 3 * hidden_size))
        self.b_ih = draw((3 * hidden_size,))
        self.b_hh = draw((3 * hidden_size,))


def run_gru(cells, x):
    """Run GRU directions over a sequence in one scan: the first cell forwards, a second one
    backwards (PyTorch's bidirectional layout).

    cells: 1 or 2 `GRUCell`s; x: (batch, time, input) -> (batch, time, directions * hidden).
    """
    stack = lambda name: jnp.stack([getattr(c, name)[...] for c in cells])  # noqa: E731
    w_ih, w_hh, b_ih, b_hh = (stack(n) for n in ("w_ih", "w_hh", "b_ih", "b_hh"))
    sequences = jnp.stack([x, x[:, ::-1]][:len(cells)])  # (dirs, batch, time, in)
    gates_in = jnp.einsum("dbti,dig->tdbg", sequences, w_ih) + b_ih[:, None]  # (time, dirs, b, 3h)
    # Three separate (time, dirs, batch, hidden) inputs: XLA's CPU loop fusion slows down ~4x
    # when it reads several slices of one dynamically indexed array per step.
    gates_in = tuple(jnp.split(gates_in, 3, axis=-1))

    def step(h, gi):  # h: (dirs, batch, hidden)
        h = gru_gates(gi, jnp.einsum("dbh,dhg->dbg", h, w_hh) + b_hh[:, None], h)
        return h, h

    h0 = jnp.zeros(gates_in[0].shape[1:], gates_in[0].dtype)
    _, states = jax.lax.scan(step, h0, gates_in)  # (time, dirs, batch, hidden)
    states = jnp.concatenate([states[:, :1], states[::-1, 1:]], 1)  # backward re-aligned
    return jnp.moveaxis(states, 2, 0).reshape(x.shape[0], x.shape[1], -1)
