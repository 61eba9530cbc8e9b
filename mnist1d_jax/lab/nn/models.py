"""Every architecture of the lab, each defined once as a Flax NNX module with PyTorch's default
initialisation (`initializers.torch_uniform`).

The paper's four models (the reference's `notebooks/models.py`, parameter counts 410, 15210, 5210
and 5134 with default sizes): `Linear`, `MLP`, `CNN`, `GRU`. The other experiments' models:
`FeedForward` (the double-descent MLP, the metalearning MLPs and the learned activation's g),
`CNN` again (the double-descent CNN), `PoolingCNN` (the pooling benchmark), `MLP` again (the
lottery tickets' MLP, hidden size 500) and `SimCLR` (`CNN`'s convolutions, `ConvStack`, and a
projector).

Every model is built as `Model(..., rngs=nnx.Rngs(seed))`, sizes as keyword arguments; the
classifiers map signals `x` (batch, length) to logits (batch, num_classes). Pure functions train
them through their parameter state (`state.init`, `state.apply`) inside `jit`, `vmap`, `scan`
and `grad`. `FeedForward`, `CNN`
and `PoolingCNN` take `padded`: the width sweep's option (`nn.Width`).
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from .layers import (
    Conv1d,
    Dense,
    GRUCell,
    Width,
    conv_output_length,
    mask_units,
    run_gru,
    unit_mask,
)

__all__ = ["Linear", "MLP", "CNN", "GRU", "FeedForward", "ConvStack", "PoolingCNN", "SimCLR",
           "POOLING", "MODELS"]


def _allocated(width: int, padded: int | None) -> int:
    """The units a layer allocates: `width`, or `padded` (>= width) for a padded model."""
    if padded is None:
        return width
    if padded < width:
        raise ValueError(f"padded must be at least the width {width}; got {padded}")
    return padded


class _Padded(nnx.Module):
    """A model whose hidden units may be padded (`nn.Width`): `padded` (static) units
    allocated per hidden layer, the first `width` real."""

    def _pad(self, width: int, padded: int | None) -> int:
        self.padded = padded
        if padded is not None:
            self.width = Width(np.int32(width))
        return _allocated(width, padded)

    def _init_mask(self, width: int):
        """The padding mask at construction (NumPy), or None for an unpadded model."""
        return None if self.padded is None else unit_mask(width, self.padded)

    def _mask(self, h):
        """h with its padded units (last axis) zeroed."""
        return h if self.padded is None else h * unit_mask(self.width[...], self.padded)


class Linear(nnx.Module):
    """Logistic regression: one linear layer, input_size -> num_classes (410 parameters)."""

    def __init__(self, input_size: int = 40, num_classes: int = 10, *, rngs):
        self.linear = Dense(input_size, num_classes, rngs=rngs)

    def __call__(self, x):
        """x: (batch, input_size) -> logits (batch, num_classes)."""
        return self.linear(x)


class MLP(nnx.Module):
    """input -> hidden -> hidden (residual) -> classes with ReLU (15210 parameters); the
    lottery tickets' MLP with hidden size 500."""

    def __init__(self, input_size: int = 40, num_classes: int = 10, hidden_size: int = 100, *,
                 rngs):
        self.linear1 = Dense(input_size, hidden_size, rngs=rngs)
        self.linear2 = Dense(hidden_size, hidden_size, rngs=rngs)
        self.linear3 = Dense(hidden_size, num_classes, rngs=rngs)

    def __call__(self, x):
        """x: (batch, input_size) -> logits (batch, num_classes)."""
        h = jax.nn.relu(self.linear1(x))
        h = h + jax.nn.relu(self.linear2(h))
        return self.linear3(h)


class FeedForward(_Padded):
    """A plain MLP `sizes[0] -> ... -> sizes[-1]` with `activation` after every layer but the
    last (no residual): the double-descent MLP (`(40, h, h, 10)`, ReLU), the metalearning MLPs
    (`(40, h, 10)`) and the learned activation's g (`(1, 100, 1)`, tanh).

    `padded`: every hidden layer allocates this many units (the hidden sizes must be equal)."""

    def __init__(self, sizes=(40, 100, 100, 10), activation: Callable = jax.nn.relu, *,
                 padded: int | None = None, rngs):
        sizes = tuple(int(s) for s in sizes)
        if len(sizes) < 2 or (padded is not None and len(set(sizes[1:-1])) != 1):
            raise ValueError(f"sizes must list at least two layer sizes (and equal hidden sizes "
                             f"when padded); got {sizes}")
        self.activation = activation
        hidden = self._pad(sizes[1], padded)  # unused without hidden layers (never padded)
        dims = sizes[:1] + (hidden,) * (len(sizes) - 2) + sizes[-1:]
        self.layers = nnx.List([Dense(n_in, n_out, fan_in=fan_in, rngs=rngs)
                                for n_in, n_out, fan_in in zip(dims, dims[1:], sizes)])
        mask = self._init_mask(sizes[1])
        if mask is not None:
            last = len(self.layers) - 1
            for k, layer in enumerate(self.layers):
                mask_units(layer, mask if k else None, mask if k < last else None)

    @staticmethod
    def structure(params: nnx.State) -> dict:
        """The constructor arguments that a model with parameter state `params` has a graph of
        (`state.apply`): its number of layers (the sizes' values are in the arrays)."""
        return {"sizes": (1,) * (len(params["layers"]) + 1)}

    def features(self, x, activation: Callable | None = None) -> list:
        """Every layer's output for x (..., sizes[0]): the hidden layers' activations, then the
        output (..., sizes[-1]). `activation` replaces the model's own (metalearning passes
        one that is not part of the model's structure)."""
        activation = self.activation if activation is None else activation
        out = []
        for layer in self.layers[:-1]:
            x = self._mask(activation(layer(x)))
            out.append(x)
        return out + [self.layers[-1](x)]

    def __call__(self, x, activation: Callable | None = None):
        """x: (..., sizes[0]) -> (..., sizes[-1])."""
        return self.features(x, activation)[-1]


CNN_KERNELS = (5, 3, 3)


class ConvStack(_Padded):
    """Three stride-2 convolutions of `channels` channels (kernels 5, 3, 3; padding 1; ReLU):
    the paper's CNN's and SimCLR's encoder. `padded`: channels allocated per convolution."""

    def __init__(self, channels: int = 25, *, padded: int | None = None, rngs):
        allocated = self._pad(channels, padded)
        mask = self._init_mask(channels)
        fan_in = 1
        self.convs = nnx.List()
        for size in CNN_KERNELS:
            conv = Conv1d(1 if fan_in == 1 else allocated, allocated, size, fan_in=fan_in * size,
                          rngs=rngs)
            if mask is not None:
                mask_units(conv, mask if fan_in > 1 else None, mask)
            self.convs.append(conv)
            fan_in = channels

    @staticmethod
    def output_length(length: int) -> int:
        """The positions left of `length` after the three convolutions."""
        for size in CNN_KERNELS:
            length = conv_output_length(length, size)
        return length

    def features(self, x) -> list:
        """Each convolution's output for x (batch, length): (batch, length_i, channels)."""
        h, out = x[..., None], []  # (batch, length, 1 channel): channels-last
        for conv in self.convs:
            h = self._mask(jax.nn.relu(conv(h)))
            out.append(h)
        return out

    def __call__(self, x):
        """x: (batch, length) -> (batch, output_length(length) * channels), position-major."""
        h = self.features(x)[-1]
        return h.reshape(h.shape[0], -1)


def _readout(length: int, channels: int, allocated: int, num_classes: int, *, rngs,
             mask=None) -> Dense:
    """A linear read-out of (length, allocated channels) features flattened position-major,
    drawn per (position, channel, class); padded channels' rows zeroed by `mask`."""
    readout = Dense(length * allocated, num_classes, fan_in=length * channels,
                    draw_shape=(length, allocated, num_classes), rngs=rngs)
    if mask is not None:
        mask_units(readout, np.tile(mask, length))
    return readout


class CNN(nnx.Module):
    """`ConvStack` and a linear read-out over the flattened features (5210 parameters for length
    40 and 25 channels); the double-descent CNN with `padded` channels."""

    def __init__(self, input_size: int = 40, num_classes: int = 10, channels: int = 25, *,
                 padded: int | None = None, rngs):
        self.convs = ConvStack(channels, padded=padded, rngs=rngs)
        self.linear = _readout(ConvStack.output_length(input_size), channels,
                               _allocated(channels, padded), num_classes, rngs=rngs,
                               mask=self.convs._init_mask(channels))

    def __call__(self, x):
        """x: (batch, input_size) -> logits (batch, num_classes)."""
        return self.linear(self.convs(x))


POOLING = ("none", "stride", "max", "average", "l2")
"""The pooling benchmark's five variants: no pooling (stride 1), stride 2, and max, average and
L2 pooling of width 2 after each stride-1 convolution."""


def _pool(h, kind: str):
    """Width-2 pooling along the positions of h (batch, length, channels)."""
    if kind in ("none", "stride"):
        return h
    pairs = h.reshape(h.shape[0], h.shape[1] // 2, 2, h.shape[2])
    if kind == "max":
        return pairs.max(2)
    if kind == "average":
        return pairs.mean(2)
    square = (pairs * pairs).sum(2)  # L2 pooling; a zero window has value and gradient 0
    positive = square > 0
    return jnp.where(positive, jnp.sqrt(jnp.where(positive, square, 1.0)), 0.0)


class PoolingCNN(_Padded):
    """The reference's `ConvPooling` (`benchmark-pooling.ipynb`): two 3-tap convolutions of
    `channels` channels (padding 1, ReLU), each followed by `kind` pooling (one of `POOLING`;
    "stride": stride-2 convolutions instead), and a linear read-out. Signals of `input_size`
    points (a multiple of 4 unless `kind` is "none")."""

    def __init__(self, kind: str = "max", input_size: int = 40, num_classes: int = 10,
                 channels: int = 20, *, padded: int | None = None, rngs):
        if kind not in POOLING:
            raise ValueError(f"kind must be one of {POOLING}; got {kind!r}")
        self.kind = kind
        allocated = self._pad(channels, padded)
        mask = self._init_mask(channels)
        stride = 2 if kind == "stride" else 1
        self.conv1 = Conv1d(1, allocated, 3, stride=stride, rngs=rngs)
        self.conv2 = Conv1d(allocated, allocated, 3, stride=stride, fan_in=3 * channels,
                            rngs=rngs)
        if mask is not None:
            mask_units(self.conv1, None, mask)
            mask_units(self.conv2, mask, mask)
        length = input_size if kind == "none" else input_size // 4
        self.linear = _readout(length, channels, allocated, num_classes, rngs=rngs, mask=mask)

    def __call__(self, x):
        """x: (batch, input_size) -> logits (batch, num_classes)."""
        h = x[..., None]
        for conv in (self.conv1, self.conv2):
            h = _pool(self._mask(jax.nn.relu(conv(h))), self.kind)
        return self.linear(h.reshape(h.shape[0], -1))


class SimCLR(nnx.Module):
    """The reference's SimCLR model (`self-supervised-learning.ipynb`): the encoder `ConvStack`
    (25 channels; 125 features for 40 points) and a projector `FeedForward` 125 -> 125 (ReLU)
    -> 16."""

    def __init__(self, input_size: int = 40, channels: int = 25, hidden: int = 125,
                 output: int = 16, *, rngs):
        self.encoder = ConvStack(channels, rngs=rngs)
        features = ConvStack.output_length(input_size) * channels
        self.projector = FeedForward((features, hidden, output), jax.nn.relu, rngs=rngs)

    def features(self, x) -> list:
        """Every layer's features of x (n, F), flattened: [conv1, conv2, conv3, projector
        hidden, projector output]; the encoder's output is the third (125 for F = 40)."""
        convs = [h.reshape(h.shape[0], -1) for h in self.encoder.features(x)]
        return convs + self.projector.features(convs[-1])

    def __call__(self, x):
        """x: (n, F) -> the projection (n, output)."""
        return self.features(x)[-1]


class GRU(nnx.Module):
    """A (bidirectional) GRU over the signal's points, one input per step, and a linear read-out
    over every step's state (5134 parameters with hidden size 6 over 40 steps)."""

    def __init__(self, input_size: int = 40, num_classes: int = 10, hidden_size: int = 6,
                 bidirectional: bool = True, *, rngs):
        directions = 2 if bidirectional else 1
        self.cells = nnx.List([GRUCell(1, hidden_size, rngs=rngs) for _ in range(directions)])
        self.linear = Dense(directions * hidden_size * input_size, num_classes, rngs=rngs)

    def __call__(self, x):
        """x: (batch, input_size) -> logits (batch, num_classes)."""
        h = run_gru(list(self.cells), x[..., None])  # (batch, time, directions * hidden)
        return self.linear(h.reshape(h.shape[0], -1))


MODELS = {"linear": Linear, "mlp": MLP, "cnn": CNN, "gru": GRU}
"""The paper's table's models by name."""
