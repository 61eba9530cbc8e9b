"""PyTorch's default initialisation, the one helper every model of the lab uses: a layer's
weights and biases uniform on [-1/sqrt(fan_in), 1/sqrt(fan_in)).

The uniform numbers come from one of two sources:

- an `nnx.Rngs`: JAX draws from its `params` stream (the usual NNX way; traceable);
- a `UnitHash`: NumPy draws on the host in which every value is a hash of seed words and the
  value's index alone, not of the array's shape. A layer padded to more units then holds the
  narrow layer's values in its leading block, which is what lets a sweep pad models of different
  widths to one shape (`nn.Width`), and no program compiles to initialise them.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from ...draws import mix32

__all__ = ["torch_uniform", "UnitHash", "unit_uniform"]


def torch_uniform(rngs, shape: tuple, fan_in: int):
    """PyTorch's default initialisation of a `shape` weight or bias of a layer with `fan_in`
    inputs per output: uniform on [-1/sqrt(fan_in), 1/sqrt(fan_in)), drawn from `rngs` (an
    `nnx.Rngs`: a float32 JAX array; a `UnitHash`: a float32 NumPy array)."""
    bound = 1 / math.sqrt(fan_in)
    if isinstance(rngs, UnitHash):
        return rngs.uniform(shape, bound)
    if not isinstance(rngs, nnx.Rngs):
        raise TypeError(f"rngs must be an nnx.Rngs or an init.UnitHash; got {rngs!r}")
    return jax.random.uniform(rngs.params(), shape, jnp.float32, -bound, bound)


class UnitHash:
    """A host source of initial values for padded models: the k-th array drawn hashes the seed
    words `words[k]` ((4,) uint32; `words` (K, 4) for K arrays) with each value's index."""

    def __init__(self, words):
        self.words = np.asarray(words, np.uint32)
        self.count = 0

    def uniform(self, shape: tuple, bound: float) -> np.ndarray:
        """The next array: `unit_uniform` of the next seed words."""
        if self.count >= len(self.words):
            raise ValueError(f"UnitHash holds seed words for {len(self.words)} arrays; a model "
                             "asked for more")
        self.count += 1
        return unit_uniform(self.words[self.count - 1], shape, bound)


def unit_uniform(words: np.ndarray, shape: tuple, bound: float) -> np.ndarray:
    """Uniform on `[-bound, bound)` of `shape` (float32 NumPy), the value at each index a hash of
    the seed `words` ((4,) uint32: one for the array, one per axis, up to three axes) and that
    index alone."""
    words = np.asarray(words, np.uint32)
    h = np.broadcast_to(words[0], shape)
    for axis, size in enumerate(shape):
        index = np.arange(size, dtype=np.uint32).reshape(
            [size if a == axis else 1 for a in range(len(shape))])
        h = mix32(h ^ mix32(index ^ words[axis + 1]))
    u = (h >> 8).astype(np.float32) * np.float32(2.0**-24)  # 24 random bits: [0, 1)
    return ((2 * u - 1) * np.float32(bound)).astype(np.float32)
