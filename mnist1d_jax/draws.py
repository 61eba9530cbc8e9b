"""The random draws of one example, from a JAX key or replayed from NumPy's `RandomState`.

A `Draws` holds everything random about one example; `transforms.transform(draws, ...)` is then
deterministic. Draws for example `i` of a batch come from `jax.random.fold_in(key, i)`, so an
example depends only on the key and its global index (not on batch size or device count).
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from .args import NUM_CLASSES


class Draws(NamedTuple):
    """One example's random draws (a leading batch axis when batched).

    Attributes:
      padding: () int, number of zeros appended to the template, in `[padding[0], padding[1]]`.
      scale: () uniform on [0, 1), for the amplitude scaling.
      shift: () int, circular shift in `[0, max_translation)`.
      corr_noise: (L,) standard normal, for the correlated noise.
      iid_noise: (L,) standard normal, for the iid noise.
      shear: () uniform on [0, 1), for the shear.
    """

    padding: jax.Array
    scale: jax.Array
    shift: jax.Array
    corr_noise: jax.Array
    iid_noise: jax.Array
    shear: jax.Array


def _uniform_int(u, n: int):
    """`floor(u * n)` (the reference's own padding formula) as int32, clipped to `n - 1`."""
    return jnp.minimum((u * n).astype(jnp.int32), n - 1)


def _standard_normal(u):
    """Standard normals from uniforms on [0, 1) by the inverse CDF, as `jax.random.normal`."""
    lower = jnp.nextafter(jnp.asarray(-1, u.dtype), jnp.asarray(0, u.dtype))
    return np.sqrt(2).astype(u.dtype) * jax.lax.erf_inv(jnp.maximum(lower, 2 * u - 1))


def _from_uniforms(u, args) -> Draws:
    """One example's `Draws` from `4 + 2 L` uniforms on [0, 1)."""
    low, high = args.padding
    normals = _standard_normal(u[4:]).reshape(2, _dilated_len(args))
    return Draws(low + _uniform_int(u[0], high - low + 1), u[1],
                 _uniform_int(u[2], args.max_translation), normals[0], normals[1], u[3])


def draw(key, args, dtype=jnp.float32) -> Draws:
    """One example's draws from a typed JAX key (scalar).

    All draws come from one `jax.random.uniform` call (one threefry stream per example, which
    keeps compilation short): the integers as `floor(u * range)`, the normals by the inverse CDF.
    """
    return _from_uniforms(jax.random.uniform(key, (4 + 2 * _dilated_len(args),), dtype), args)


def draw_labelled(key, args, dtype=jnp.float32) -> tuple[jax.Array, Draws]:
    """A uniformly random class label (() int32) and that example's draws, from one key."""
    u = jax.random.uniform(key, (5 + 2 * _dilated_len(args),), dtype)
    return _uniform_int(u[-1], NUM_CLASSES), _from_uniforms(u[:-1], args)


def _dilated_len(args) -> int:
    return args.template_len + args.padding[1]


def draw_batch(key, args, batch_size: int, dtype=jnp.float32, offset=0) -> Draws:
    """Draws of examples `offset .. offset + batch_size - 1`, each from `fold_in(key, index)`.

    Returns a `Draws` with a leading (batch_size,) axis.
    """
    indices = offset + jnp.arange(batch_size, dtype=jnp.uint32)
    keys = jax.vmap(jax.random.fold_in, (None, 0))(key, indices)
    return jax.vmap(lambda k: draw(k, args, dtype))(keys)


FEISTEL_ROUNDS = 6


def _mix32(x):
    """A 32-bit integer hash (Wellons' lowbias32): uint32 -> uint32, elementwise."""
    x = x ^ (x >> 16)
    x = x * jnp.uint32(0x7FEB352D)
    x = x ^ (x >> 15)
    x = x * jnp.uint32(0x846CA68B)
    return x ^ (x >> 16)


def _half_bits(n: int) -> int:
    """Bits of each half of the smallest balanced Feistel domain `4**h >= n`."""
    return max(1, -(-max(n - 1, 1).bit_length() // 2))


def _feistel(x, round_keys, half: int):
    """One pass of a balanced Feistel network on `[0, 4**half)`; x: uint32 array."""
    mask = jnp.uint32((1 << half) - 1)
    left, right = x >> half, x & mask
    for k in range(FEISTEL_ROUNDS):
        left, right = right, left ^ (_mix32(right ^ round_keys[k]) & mask)
    return (left << half) | right


def index_permutation(key, positions, n: int):
    """`perm[positions]` for a pseudorandom permutation `perm` of `[0, n)` keyed by `key`,
    computed per position: no array of length `n` exists.

    A 6-round Feistel network on the smallest `[0, 4**h)` holding `n` (a bijection there), with
    cycle walking (apply again while the value is `>= n`), which makes it a bijection of
    `[0, n)`. Expected passes: fewer than 4.

    Args:
      key: a typed JAX key.
      positions: (...) integers in `[0, n)`.
      n: the size of the permuted range, `1 <= n < 2**32`.
    Returns:
      (...) uint32, the permuted indices, in `[0, n)`.
    """
    half = _half_bits(n)
    round_keys = jax.random.bits(key, (FEISTEL_ROUNDS,), jnp.uint32)
    x = _feistel(jnp.asarray(positions, jnp.uint32), round_keys, half)
    outside = lambda v: v >= jnp.uint32(n)  # noqa: E731
    return jax.lax.while_loop(lambda v: jnp.any(outside(v)),
                              lambda v: jnp.where(outside(v), _feistel(v, round_keys, half), v), x)


class Replay(NamedTuple):
    """The reference's random draws, in its order: per-example draws in class order (all 0s, then
    all 1s, ...), the example permutation (n,), and the position permutation (F,) or None."""

    draws: Draws
    permutation: np.ndarray
    seq_permutation: np.ndarray | None


def replay_numpy(args) -> Replay:
    """Replays the reference's calls on `np.random.RandomState(args.seed)`.

    Per example: `rand()` (padding), `rand()` (scale), `choice(max_translation)` (shift),
    `randn(L)` (correlated noise), `randn(L)` (iid noise), `rand()` (shear); then
    `permutation(n)`; then, if `shuffle_seq`, `permutation(final_seq_length)`. NumPy float64.
    """
    layout = args.layout
    low, high = layout.padding
    n, dilated_len = layout.num_examples, layout.dilated_len
    rs = np.random.RandomState(args.seed)
    ints = np.empty((n, 2), np.int64)
    uniforms = np.empty((n, 2))
    normals = np.empty((n, 2, dilated_len))
    for i in range(n):
        ints[i, 0] = low + int(rs.rand() * (high - low + 1))
        uniforms[i, 0] = rs.rand()
        ints[i, 1] = rs.choice(layout.max_translation)
        normals[i, 0] = rs.randn(dilated_len)
        normals[i, 1] = rs.randn(dilated_len)
        uniforms[i, 1] = rs.rand()
    draws = Draws(ints[:, 0], uniforms[:, 0], ints[:, 1], normals[:, 0], normals[:, 1],
                  uniforms[:, 1])
    permutation = rs.permutation(n)
    seq_permutation = rs.permutation(layout.final_seq_length) if layout.shuffle_seq else None
    return Replay(draws, permutation, seq_permutation)
