"""Model families for sweeps: MLP, CNN and the pooling CNNs indexed by a width (hidden units or
channels), padded to a bucket's largest width and masked.

- A unit (hidden unit, channel) at index `>= width` has zero weights in and out, and its
  activation is multiplied by 0, so its gradients are 0 and it stays exactly 0 under SGD or Adam.
- The other parameters are drawn unit by unit (a hash of the seed words and the index), so they do
  not depend on the padding: a configuration trained in any bucket follows the narrow model's run,
  up to float rounding of sums that include the padded zeros (tested). The draws are made on the
  host in NumPy: no compilation per shape.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from ..draws import mix32
from .models import conv1d, conv_output_length


OVERHEAD_WIDTH = 32
"""Below this width an MLP step on the CPU costs its overhead, not its arithmetic: such models
share a bucket at little loss (`buckets`)."""


class Family(NamedTuple):
    """A model family indexed by a width. `init(words, width, max_width, features) -> params`
    (a dict of float32 NumPy arrays, from (SEED_WORDS, 4) uint32 seed `words`, on the host) and
    `apply(params, x, width, max_width) -> logits` (batch, 10) for x (batch, F), `width` traced,
    `max_width` static. `cost(width)` is the relative compute of one step, about its number of
    parameters; below width `floor` a step costs about the same whatever its width (it is
    overhead, not arithmetic), so such models share a program at little loss (`buckets`).
    `signal_rule(F)` says why signals of F points do not fit the family ("" if they do)."""

    name: str
    init: Callable
    apply: Callable
    cost: Callable
    floor: int = OVERHEAD_WIDTH
    signal_rule: Callable = lambda length: ""


def width_mask(width, max_width: int):
    """(max_width,) float32: 1 for the first `width` units, 0 for the padding (NumPy for a
    Python `width`, JAX for a traced one)."""
    xp = np if isinstance(width, (int, np.integer)) else jnp
    return (xp.arange(max_width) < width).astype(xp.float32)


def unit_uniform(words: np.ndarray, shape: tuple, bound: float) -> np.ndarray:
    """Uniform on `(-bound, bound)` of `shape` (float32 NumPy), the value at each index a hash of
    the seed `words` ((4,) uint32) and that index alone, not of `shape`: a padded layer holds the
    narrow layer's values in its leading block (PyTorch's default initialisation, whatever the
    padding). Computed on the host: no compilation per shape."""
    words = np.asarray(words, np.uint32)
    h = np.broadcast_to(words[0], shape)
    for axis, size in enumerate(shape):
        index = np.arange(size, dtype=np.uint32).reshape(
            [size if a == axis else 1 for a in range(len(shape))])
        h = mix32(h ^ mix32(index ^ words[axis + 1]))
    u = (h >> 8).astype(np.float32) * np.float32(2.0**-24)  # 24 random bits: [0, 1)
    return ((2 * u - 1) * np.float32(bound)).astype(np.float32)


def _mlp_init(words, width: int, max_width: int, features: int) -> dict:
    """MLP features-h-h-10 (`torch.nn.Linear` initialisation); `words` (6, 4) seed words."""
    mask = width_mask(width, max_width)
    inner, outer = 1 / math.sqrt(width), 1 / math.sqrt(features)
    return {"w1": unit_uniform(words[0], (features, max_width), outer) * mask,
            "b1": unit_uniform(words[1], (max_width,), outer) * mask,
            "w2": unit_uniform(words[2], (max_width, max_width), inner) * mask[:, None] * mask,
            "b2": unit_uniform(words[3], (max_width,), inner) * mask,
            "w3": unit_uniform(words[4], (max_width, 10), inner) * mask[:, None],
            "b3": unit_uniform(words[5], (10,), inner)}


def _mlp_apply(params, x, width, max_width: int):
    mask = width_mask(width, max_width)
    h = jax.nn.relu(x @ params["w1"] + params["b1"]) * mask
    h = jax.nn.relu(h @ params["w2"] + params["b2"]) * mask
    return h @ params["w3"] + params["b3"]


MLP = Family("mlp", _mlp_init, _mlp_apply, lambda w: (40 + w + 10) * w)
"""The double-descent MLP: features-h-h-10 with ReLU (`h` hidden units per layer)."""

CNN_KERNELS = (5, 3, 3)


def _cnn_init(words, width: int, max_width: int, features: int) -> dict:
    """Three stride-2 convolutions of `width` channels (kernels 5, 3, 3, padding 1) and a linear
    read-out (`torch.nn.Conv1d` / `Linear` initialisation); `words` (8, 4) seed words."""
    mask = width_mask(width, max_width)
    params, length, fan_in_mask, fan_in = {}, features, np.ones(1, np.float32), 1
    for i, size in enumerate(CNN_KERNELS):
        bound = 1 / math.sqrt(fan_in * size)
        shape = (size, fan_in_mask.shape[0], max_width)
        params[f"k{i}"] = unit_uniform(words[2 * i], shape, bound) * fan_in_mask[:, None] * mask
        params[f"b{i}"] = unit_uniform(words[2 * i + 1], (max_width,), bound) * mask
        length, fan_in_mask, fan_in = conv_output_length(length, size), mask, width
    bound = 1 / math.sqrt(width * length)
    params["w"] = _readout(words[6], length, mask, bound)
    params["b"] = unit_uniform(words[7], (10,), bound)
    return params


def _readout(words, length: int, mask, bound: float) -> np.ndarray:
    """A linear read-out of `length` positions x channels (flattened, channels last) to the 10
    classes: (length * max_width, 10), drawn per (position, channel, class)."""
    weights = unit_uniform(words, (length, mask.shape[0], 10), bound) * mask[:, None]
    return weights.reshape(-1, 10)


def _cnn_apply(params, x, width, max_width: int):
    mask = width_mask(width, max_width)
    h = x[..., None]
    for i in range(len(CNN_KERNELS)):
        h = jax.nn.relu(conv1d(h, params[f"k{i}"], params[f"b{i}"])) * mask
    return h.reshape(h.shape[0], -1) @ params["w"] + params["b"]


CNN = Family("cnn", _cnn_init, _cnn_apply, lambda c: 15 * c * c + 25 * c, floor=8,
             signal_rule=lambda n: "" if n >= 3 else "three stride-2 convolutions need at least "
                                                      "3 points")
"""The double-descent CNN: three stride-2 convolutions of `c` channels, kernels 5/3/3, padding
1, ReLU, and a linear read-out of the 5 x `c` features."""


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


POOLING = ("none", "stride", "max", "average", "l2")
"""The pooling benchmark's five variants: no pooling (stride 1), stride 2, and max, average and
L2 pooling of width 2 after each stride-1 convolution."""


def _pooling_features(kind: str, features: int) -> int:
    return features if kind == "none" else features // 4


def _pooling_init(kind: str, words, width: int, max_width: int, features: int) -> dict:
    """Two 3-tap convolutions of `width` channels (padding 1) and a linear read-out; `words`
    (6, 4) seed words."""
    mask = width_mask(width, max_width)
    length = _pooling_features(kind, features)
    inner, readout = 1 / math.sqrt(3 * width), 1 / math.sqrt(length * width)
    return {"k0": unit_uniform(words[0], (3, 1, max_width), 1 / math.sqrt(3)) * mask,
            "b0": unit_uniform(words[1], (max_width,), 1 / math.sqrt(3)) * mask,
            "k1": unit_uniform(words[2], (3, max_width, max_width), inner) * mask[:, None] * mask,
            "b1": unit_uniform(words[3], (max_width,), inner) * mask,
            "w": _readout(words[4], length, mask, readout),
            "b": unit_uniform(words[5], (10,), readout)}


def _pooling_apply(kind: str, params, x, width, max_width: int):
    mask = width_mask(width, max_width)
    stride = 2 if kind == "stride" else 1
    h = x[..., None]
    for i in range(2):
        h = _pool(jax.nn.relu(conv1d(h, params[f"k{i}"], params[f"b{i}"], stride)) * mask, kind)
    return h.reshape(h.shape[0], -1) @ params["w"] + params["b"]


@functools.cache
def pooling_family(kind: str) -> Family:
    """The pooling benchmark's model with pooling `kind` (one of `POOLING`): the reference's
    `ConvPooling` of `benchmark-pooling.ipynb`, 20 channels by default (the width)."""
    if kind not in POOLING:
        raise ValueError(f"kind must be one of {POOLING}; got {kind!r}")
    rule = (lambda n: "") if kind == "none" else (
        lambda n: "" if n >= 4 and n % 4 == 0 else "two width-2 poolings (or stride-2 "
                                                   "convolutions) need a multiple of 4 points")
    return Family(f"pooling-{kind}", functools.partial(_pooling_init, kind),
                  functools.partial(_pooling_apply, kind), lambda c: (3 + 3 * c) * c,
                  signal_rule=rule)
