"""The random draws of one example from a JAX key, and the keyed order of examples.

A `Draws` holds everything random about one example; `transforms.transform(draws, ...)` is then
deterministic (`reference.replay_numpy` gives the same fields from NumPy's `RandomState`).
Draws for example `i` of a batch come from `jax.random.fold_in(key, i)`, so an
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


# The one definition of where each draw sits in an example's vector of uniforms on [0, 1):
# (name, length) in order, `L` standing for the dilated length. `draw_labelled` appends the
# label's uniform after these.
UNIFORM_LAYOUT = (("padding", 1), ("scale", 1), ("shift", 1), ("shear", 1),
                  ("corr_noise", "L"), ("iid_noise", "L"))


def uniform_slices(dilated_len: int) -> dict[str, slice]:
    """Where each field of `Draws` sits in the uniforms of one example (`UNIFORM_LAYOUT`), and
    `"label"` after them; `slices["label"].start` is the number of uniforms of unlabelled draws."""
    slices, start = {}, 0
    for name, size in UNIFORM_LAYOUT + (("label", 1),):
        width = dilated_len if size == "L" else int(size)
        slices[name], start = slice(start, start + width), start + width
    return slices


def _uniform_int(u, n: int):
    """`floor(u * n)` (the reference's own padding formula) as int32, clipped to `n - 1`."""
    return jnp.minimum((u * n).astype(jnp.int32), n - 1)


def _standard_normal(u):
    """Standard normals from uniforms on [0, 1) by the inverse CDF, as `jax.random.normal`."""
    lower = jnp.nextafter(jnp.asarray(-1, u.dtype), jnp.asarray(0, u.dtype))
    return np.sqrt(2).astype(u.dtype) * jax.lax.erf_inv(jnp.maximum(lower, 2 * u - 1))


def _from_uniforms(u, args) -> Draws:
    """One example's `Draws` from its uniforms (`uniform_slices`)."""
    slices = uniform_slices(args.layout.dilated_len)
    # The two noise vectors are adjacent: one inverse-CDF call over both (XLA vectorises one
    # loop; two shorter calls may round differently in their unvectorised tails).
    first = slices["corr_noise"].start
    normals = _standard_normal(u[first:slices["iid_noise"].stop])

    def normal(name):
        return normals[slices[name].start - first:slices[name].stop - first]

    def scalar(name):
        return u[slices[name].start]

    low, high = args.padding
    return Draws(padding=low + _uniform_int(scalar("padding"), high - low + 1),
                 scale=scalar("scale"), shift=_uniform_int(scalar("shift"), args.max_translation),
                 corr_noise=normal("corr_noise"), iid_noise=normal("iid_noise"),
                 shear=scalar("shear"))


def _uniform_count(args, labelled: bool) -> int:
    label = uniform_slices(args.layout.dilated_len)["label"]
    return label.stop if labelled else label.start


def draw(key, args, dtype=jnp.float32) -> Draws:
    """One example's draws from a typed JAX key (scalar).

    All draws come from one `jax.random.uniform` call (one threefry stream per example, which
    keeps compilation short): the integers as `floor(u * range)`, the normals by the inverse CDF.
    """
    return _from_uniforms(jax.random.uniform(key, (_uniform_count(args, False),), dtype), args)


def draw_labelled(key, args, dtype=jnp.float32,
                  num_classes: int = NUM_CLASSES) -> tuple[jax.Array, Draws]:
    """A uniformly random class label (() int32 in `[0, num_classes)`) and that example's draws,
    from one key."""
    u = jax.random.uniform(key, (_uniform_count(args, True),), dtype)
    label = uniform_slices(args.layout.dilated_len)["label"]
    return _uniform_int(u[label][0], num_classes), _from_uniforms(u, args)


def noisy_labels(key, labels, indices, fraction, num_classes: int):
    """Label noise: each label replaced, with probability `fraction`, by a class drawn uniformly
    from `[0, num_classes)` (possibly its own), both draws from `fold_in(key, index)` of its
    example, so a label's noise depends on the key and its example alone.

    Args:
      key: a typed JAX key (the label-noise key).
      labels: (n,) int labels. indices: (n,) uint32, the examples' indices.
      fraction: () or (n,) float in [0, 1], possibly traced.
    Returns:
      (n,) int32 labels and (n,) bool, where a label changed.
    """
    u = jax.vmap(lambda i: jax.random.uniform(jax.random.fold_in(key, i), (2,)))(indices)
    replaced = jnp.where(u[:, 0] < fraction, _uniform_int(u[:, 1], num_classes), labels)
    replaced = replaced.astype(jnp.int32)
    return replaced, replaced != labels


def draw_batch(key, args, batch_size: int, dtype=jnp.float32, offset=0) -> Draws:
    """Draws of examples `offset .. offset + batch_size - 1`, each from `fold_in(key, index)`.

    Returns a `Draws` with a leading (batch_size,) axis.
    """
    indices = offset + jnp.arange(batch_size, dtype=jnp.uint32)
    keys = jax.vmap(jax.random.fold_in, (None, 0))(key, indices)
    return jax.vmap(lambda k: draw(k, args, dtype))(keys)


FEISTEL_ROUNDS = 6


def mix32(x):
    """A 32-bit integer hash (Wellons' lowbias32): uint32 -> uint32, elementwise, on JAX or
    NumPy arrays alike (products wrap modulo 2**32)."""
    x = x ^ (x >> 16)
    x = x * np.uint32(0x7FEB352D)
    x = x ^ (x >> 15)
    x = x * np.uint32(0x846CA68B)
    return x ^ (x >> 16)


def _half_bits(n: int) -> int:
    """Bits of each half of the smallest balanced Feistel domain `4**h >= n`."""
    return max(1, -(-max(n - 1, 1).bit_length() // 2))


def _feistel(x, round_keys, half: int):
    """One pass of a balanced Feistel network on `[0, 4**half)`; x: uint32 array."""
    mask = jnp.uint32((1 << half) - 1)
    left, right = x >> half, x & mask
    for k in range(FEISTEL_ROUNDS):
        left, right = right, left ^ (mix32(right ^ round_keys[k]) & mask)
    return (left << half) | right


def index_permutation(key, positions, n, largest: int | None = None):
    """`perm[positions]` for a pseudorandom permutation `perm` of `[0, n)` keyed by `key`,
    computed per position: no array of length `n` exists.

    A 6-round Feistel network on the smallest `[0, 4**h)` holding `largest` (default `n`; a
    bijection there), with cycle walking (apply again while the value is `>= n`), which makes
    it a bijection of `[0, n)`. Expected passes: fewer than `4 * largest / n`.

    Args:
      key: a typed JAX key.
      positions: (...) integers in `[0, n)`.
      n: the size of the permuted range, `1 <= n < 2**32`; may be traced when `largest` (a
        Python int `>= n`) is given.
    Returns:
      (...) uint32, the permuted indices, in `[0, n)`.
    """
    half = _half_bits(n if largest is None else largest)
    round_keys = jax.random.bits(key, (FEISTEL_ROUNDS,), jnp.uint32)
    x = _feistel(jnp.asarray(positions, jnp.uint32), round_keys, half)
    limit = jnp.asarray(n, jnp.uint32)
    outside = lambda v: v >= limit  # noqa: E731
    return jax.lax.while_loop(lambda v: jnp.any(outside(v)),
                              lambda v: jnp.where(outside(v), _feistel(v, round_keys, half), v), x)
