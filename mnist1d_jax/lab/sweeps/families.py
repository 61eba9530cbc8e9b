"""Model families for sweeps: the models of `models` indexed by a width (hidden units or
channels), built padded to a bucket's largest width (`nn.Width`) with host-made initial
values (`nn.UnitHash`).

The initial values are drawn unit by unit (a hash of the seed words and the index), so they do
not depend on the padding: a configuration trained in any bucket follows the narrow model's run,
up to float rounding of sums that include the padded zeros (tested). No program compiles to
initialise them.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import NamedTuple

import jax
from flax import nnx

from ...args import NUM_CLASSES
from ..nn import CNN, POOLING, FeedForward, PoolingCNN, UnitHash

__all__ = ["Family", "MLP_FAMILY", "CNN_FAMILY", "POOLING", "pooling_family", "OVERHEAD_WIDTH"]

OVERHEAD_WIDTH = 32
"""Below this width an MLP step on the CPU costs its overhead, not its arithmetic: such models
share a bucket at little loss (`buckets`)."""


class Family(NamedTuple):
    """A model family indexed by a width. `model(width, features, classes, padded=, rngs=)`
    builds the NNX model for signals of `features` points and `classes` classes; `cost(width)`
    is the relative compute of one step, about its number of parameters; below width `floor` a
    step costs about the same whatever its width (overhead, not arithmetic), so such models share
    a program at little loss (`buckets`). `signal_rule(F)` says why signals of F points do not
    fit the family ("" if they do)."""

    name: str
    model: Callable
    cost: Callable
    floor: int = OVERHEAD_WIDTH
    signal_rule: Callable = lambda length: ""

    def init(self, words, width: int, padded: int, features: int,
             classes: int = NUM_CLASSES) -> nnx.Module:
        """The model of `width` padded to `padded`, its initial values from seed `words`
        ((K, 4) uint32, K at least the model's number of arrays; `nn.UnitHash`)."""
        return self.model(width, features, classes, padded=padded, rngs=UnitHash(words))


def _feed_forward(width: int, features: int, classes: int, *, padded: int, rngs) -> FeedForward:
    return FeedForward((features, width, width, classes), jax.nn.relu, padded=padded, rngs=rngs)


def _cnn(width: int, features: int, classes: int, *, padded: int, rngs) -> CNN:
    return CNN(features, classes, width, padded=padded, rngs=rngs)


MLP_FAMILY = Family("mlp", _feed_forward, lambda w: (40 + w + 10) * w)
"""The double-descent MLP: `nn.FeedForward` features-h-h-classes with ReLU (`h` hidden units
per layer; its cost is counted for 40 points and ten classes)."""

CNN_FAMILY = Family("cnn", _cnn, lambda c: 15 * c * c + 25 * c, floor=8,
                    signal_rule=lambda n: "" if n >= 3 else "three stride-2 convolutions need "
                                                            "at least 3 points")
"""The double-descent CNN: `nn.CNN` with `c` channels."""


def _pooling(kind: str, width: int, features: int, classes: int, *, padded: int,
             rngs) -> PoolingCNN:
    return PoolingCNN(kind, features, classes, width, padded=padded, rngs=rngs)


@functools.cache
def pooling_family(kind: str) -> Family:
    """The pooling benchmark's model with pooling `kind` (one of `POOLING`): `nn.PoolingCNN`,
    20 channels by default (the width)."""
    if kind not in POOLING:
        raise ValueError(f"kind must be one of {POOLING}; got {kind!r}")
    rule = (lambda n: "") if kind == "none" else (
        lambda n: "" if n >= 4 and n % 4 == 0 else "two width-2 poolings (or stride-2 "
                                                   "convolutions) need a multiple of 4 points")
    return Family(f"pooling-{kind}", functools.partial(_pooling, kind),
                  lambda c: (3 + 3 * c) * c, signal_rule=rule)
