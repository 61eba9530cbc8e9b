"""JAX's threefry key derivation restated in NumPy, bit for bit (with JAX's default
`jax_threefry_partitionable=True`): `fold_in` and 32-bit `bits`, on arrays of keys at once.

A sweep derives every model's key and initialisation words before its first model can start;
in JAX that is a program of its own to compile (threefry compiles slowly on CPUs), on the host it
is immediate. Keys here are raw key data: uint32 arrays
of shape (..., 2), as `jax.random.key_data` gives and `jax.random.wrap_key_data` takes.
"""

from __future__ import annotations

import numpy as np

__all__ = ["bits", "fold_in", "threefry2x32"]

_ROTATIONS = ((13, 15, 26, 6), (17, 29, 16, 24))


def _rotate_left(x, d: int):
    return (x << np.uint32(d)) | (x >> np.uint32(32 - d))


def threefry2x32(key, x0, x1):
    """The Threefry-2x32 block cipher (20 rounds) of counters (x0, x1) under `key` (..., 2),
    broadcasting: the two output words."""
    key = np.asarray(key, np.uint32)
    ks = (key[..., 0], key[..., 1], key[..., 0] ^ key[..., 1] ^ np.uint32(0x1BD11BDA))
    with np.errstate(over="ignore"):
        x0 = np.asarray(x0, np.uint32) + ks[0]
        x1 = np.asarray(x1, np.uint32) + ks[1]
        for i in range(5):
            for r in _ROTATIONS[i % 2]:
                x0 = x0 + x1
                x1 = _rotate_left(x1, r) ^ x0
            x0 = x0 + ks[(i + 1) % 3]
            x1 = x1 + ks[(i + 2) % 3] + np.uint32(i + 1)
    return x0, x1


def fold_in(key, data):
    """`jax.random.fold_in` on key data (..., 2) and uint32 `data` (broadcasting): (..., 2)."""
    data = np.asarray(data, np.uint32)
    x0, x1 = threefry2x32(key, np.zeros_like(data), data)
    return np.stack([x0, x1], -1)


def bits(key, shape: tuple):
    """`jax.random.bits(key, shape, jnp.uint32)` on key data (..., 2): (..., *shape) uint32."""
    key = np.asarray(key, np.uint32)
    index = np.arange(int(np.prod(shape)), dtype=np.uint64).reshape(shape)
    expand = (Ellipsis,) + (None,) * len(shape)
    x0, x1 = threefry2x32(key[expand + (slice(None),)],
                          (index >> np.uint64(32)).astype(np.uint32),
                          (index & np.uint64(0xFFFFFFFF)).astype(np.uint32))
    return x0 ^ x1
