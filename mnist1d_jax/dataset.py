"""Whole datasets: `make_dataset` (JAX keys, one jitted call) and `reference_dataset` (NumPy
replay of the original generator, same transforms)."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

from . import stats, transforms
from .args import MAX_NUM_SAMPLES, NUM_CLASSES, Layout, as_args, from_parts
from .checks import check_count, check_dtype, check_key, check_memory, check_sharding
from .draws import Draws, draw, draw_labelled, index_permutation, replay_numpy
from .templates import get_templates


def class_labels(indices, layout: Layout):
    """Labels (int32) of class-order example `indices`: the reference makes `num_samples // 10`
    examples of class 0, then of class 1, and so on."""
    return (indices // (layout.num_samples // NUM_CLASSES)).astype(jnp.int32)


def dilated_templates(labels, padding, layout: Layout, dtype):
    """Steps 1-2 for a batch, by lookup in the precomputed (10, P, L) bank.

    labels, padding: (n,) int. Returns (n, L) of `dtype`.
    """
    bank = transforms.dilation_bank(get_templates()["x"], layout.padding, layout.dilated_len)
    return jnp.asarray(bank, dtype)[labels, padding - layout.padding[0]]


def examples(draws: Draws, labels, args, dtype):
    """The transformed signals (n, F) for batched `draws` and `labels` (n,)."""
    x = dilated_templates(labels, draws.padding, args.layout, dtype)
    return jax.vmap(transforms.transform_dilated, (0, 0, None))(draws, x, args)


def _permute_positions(x, seq_permutation):
    """x (n, F) with its positions permuted by `seq_permutation` (F,), or unchanged if `None`."""
    return x if seq_permutation is None else x[:, seq_permutation]


def ordered_examples(key, positions, seq_permutation, args, dtype):
    """The un-normalised examples at output `positions` (c,) of the dataset made from `key`.

    This is the recipe of `make_dataset`'s JAX path and of the chunked writer: `key` splits into
    a draws key and an order key; output position `i` holds class-order example
    `j = index_permutation(order key, i, n)`, of class `j // (num_samples // 10)`, whose draws
    come from `fold_in(draws key, j)`. Every position is computed on its own, so any subset (a
    chunk, a shard) equals the same rows of the whole.

    Returns:
      x (c, F) of `dtype`, positions permuted by `seq_permutation` (F,) when given; y (c,) int32.
    """
    layout = args.layout
    k_draws, k_order = jax.random.split(key)
    index = index_permutation(k_order, positions, layout.num_examples)
    labels = class_labels(index, layout)
    draws = jax.vmap(lambda i: draw(jax.random.fold_in(k_draws, i), args, dtype))(index)
    return _permute_positions(examples(draws, labels, args, dtype), seq_permutation), labels


def t_grid(layout: Layout):
    """The reference's `t` before its division by the data's std: (F,) float64 NumPy."""
    return transforms.transform_grid(get_templates()["t"], layout.dilated_len,
                                     layout.final_seq_length)


def _normalised_split(xs, ys, layout: Layout, dtype) -> dict:
    """Normalise by the mean and std of all values, divide `t` by the std, split at
    `num_train` (the reference's order of operations)."""
    std = stats.divisor(xs.std())
    xs = (xs - xs.mean()) / std
    split = layout.num_train
    return {"x": xs[:split], "x_test": xs[split:], "y": ys[:split], "y_test": ys[split:],
            "t": jnp.asarray(t_grid(layout), dtype) / std}


_dataset_jit = functools.partial(jax.jit, static_argnames=("layout", "dtype"))


def position_permutation(args) -> np.ndarray | None:
    """The fixed permutation (F,) of positions used when `args.shuffle_seq` (else `None`) by
    `make_dataset` and `sample_batch`: a function of `args.seed` alone, so a stream and a dataset
    with the same arguments share it, whatever their keys."""
    if not args.shuffle_seq:
        return None
    return np.random.default_rng(args.seed).permutation(args.final_seq_length).astype(np.int32)


@_dataset_jit
def _generate(key, scales, seq_permutation, layout: Layout, dtype) -> dict:
    positions = jnp.arange(layout.num_examples, dtype=jnp.uint32)
    xs, ys = ordered_examples(key, positions, seq_permutation, from_parts(layout, scales), dtype)
    return _normalised_split(xs, ys, layout, dtype)


@_dataset_jit
def _from_replay(draws, permutation, seq_permutation, scales, layout: Layout, dtype) -> dict:
    labels = class_labels(jnp.arange(layout.num_examples), layout)
    xs = examples(draws, labels, from_parts(layout, scales), dtype)[permutation]
    return _normalised_split(_permute_positions(xs, seq_permutation), labels[permutation],
                             layout, dtype)


def example_bytes(layout: Layout, dtype) -> int:
    """Estimated peak bytes per example while a batch is generated in memory: the draws
    (`4 + 2 L` values), about three signals of length `L` alive at once, and the output with
    its normalised copy. Used to refuse sizes that cannot fit before anything is traced."""
    itemsize = np.dtype(dtype).itemsize
    return itemsize * (2 * (5 + 2 * layout.dilated_len) + 3 * layout.dilated_len
                       + 4 * layout.final_seq_length) + 16


def _templates(dtype, int_dtype) -> dict:
    templates = get_templates()
    return {"x": templates["x"].astype(dtype), "t": templates["t"].astype(dtype),
            "y": templates["y"].astype(int_dtype)}


def make_dataset(key=None, args=None, *, dtype=jnp.float32) -> dict:
    """Generates a whole MNIST-1D dataset in one jitted call.

    Args:
      key: a JAX PRNG key (typed or legacy); `None` means `jax.random.key(args.seed)`.
      args: `DatasetArgs`, a mapping of argument names, or `None` for the defaults. The four float
        scales may be traced (no recompilation when they change; differentiable).
      dtype: `float32` (default) or `float64` (inside `jax.enable_x64(True)`).

    With `shuffle_seq`, the positions are permuted by `position_permutation(args)`, fixed by
    `args.seed` (so datasets and streams of the same arguments agree).

    Returns:
      dict of JAX arrays: `x` (n_train, F), `x_test` (n - n_train, F) normalised to mean 0, std 1
      over train and test together; `y` (n_train,), `y_test` int32 labels; `t` (F,) the
      position grid divided by the data's std; `templates` (dict `x` (10, 12), `t` (12,), `y`).
      `n = 10 * (num_samples // 10)`, `n_train = int(n * train_split)`, `F = final_seq_length`.
    """
    args = as_args(args)
    dtype = check_dtype(dtype)
    key = jax.random.key(args.seed) if key is None else check_key(key)
    layout = args.layout
    check_memory(layout.num_examples * example_bytes(layout, dtype),
                 f"make_dataset with num_samples={args.num_samples}",
                 "write it to a folder in chunks instead (mnist1d_jax.chunked.write_dataset, or "
                 "mnist1d-jax generate --out FOLDER)")
    data = _generate(key, args.scales, position_permutation(args), args.layout, dtype)
    templates = _templates(dtype, np.int32)
    return {**data, "templates": {k: jnp.asarray(v) for k, v in templates.items()}}


def reference_dataset(args=None, *, dtype="float64") -> dict:
    """What the reference's `mnist1d.data.make_dataset(args)` returns, computed by this package's
    transforms from draws replayed on `np.random.RandomState(args.seed)`.

    For the default arguments this is the original published MNIST-1D dataset. float64 is enabled
    only locally, for this call.

    Returns:
      dict of NumPy arrays in the reference's layout: `x`, `x_test` of `dtype`; `y`, `y_test` int64;
      `t`; `templates` (the reference's float64 templates).
    """
    args = as_args(args)
    dtype = np.dtype(dtype) if dtype in ("float32", "float64", np.float32, np.float64) else None
    if dtype is None:
        raise ValueError("dtype must be 'float32' or 'float64'")
    check_memory(args.layout.num_examples * (example_bytes(args.layout, np.float64)
                                             + 8 * 2 * args.layout.dilated_len),
                 f"reference_dataset with num_samples={args.num_samples}")
    replay = replay_numpy(args)
    draws = Draws(*(a.astype(dtype) if a.dtype.kind == "f" else a for a in replay.draws))
    with jax.enable_x64(True):
        data = _from_replay(draws, replay.permutation, replay.seq_permutation,
                            tuple(np.asarray(s, dtype) for s in args.scales), args.layout, dtype)
        data = jax.tree.map(np.asarray, data)
    data["y"], data["y_test"] = data["y"].astype(np.int64), data["y_test"].astype(np.int64)
    return {**data, "templates": get_templates()}


@functools.partial(jax.jit, static_argnames=("layout", "seed", "batch_size", "dtype", "sharding"))
def _sample(key, scales, layout: Layout, seed: int, batch_size: int, dtype, sharding) -> dict:
    args = from_parts(layout, scales, seed)
    index = jnp.arange(batch_size, dtype=jnp.uint32)
    if sharding is not None:
        index = jax.lax.with_sharding_constraint(index, sharding)
    labels, draws = jax.vmap(lambda i: draw_labelled(jax.random.fold_in(key, i), args, dtype))(index)
    x = _permute_positions(examples(draws, labels, args, dtype), position_permutation(args))
    mean, std = stats.mean_and_std(layout, scales)
    batch = {"x": (x - jnp.asarray(mean, dtype)) / stats.divisor(std.astype(dtype)), "y": labels}
    if sharding is not None:
        batch = jax.lax.with_sharding_constraint(batch, sharding)
    return batch


def sample_batch(key, args, batch_size: int, *, sharding=None, dtype=jnp.float32) -> dict:
    """Fresh examples from the MNIST-1D distribution, for use inside jitted training code.

    Example `i` of the batch comes from `fold_in(key, i)` alone, so results do not depend on the
    device count; a new key does not recompile. Labels are uniform over the ten classes. Signals
    are normalised by the exact population mean and std for these arguments
    (`mnist1d_jax.stats`), so batches match `make_dataset`'s scale; the std is a differentiable
    function of the (possibly traced) scales.

    Args:
      key: a JAX PRNG key (typed or legacy).
      args: `DatasetArgs`, a mapping, or `None` for the defaults.
      batch_size: number of examples.
      sharding: optional `jax.sharding.NamedSharding` over the batch axis; each device then
        generates its own rows in place.
      dtype: `float32` or `float64` (inside `jax.enable_x64(True)`).

    Returns:
      dict with `x` (batch_size, final_seq_length) and `y` (batch_size,) int32.
    """
    args = as_args(args)
    key = check_key(key)
    dtype = check_dtype(dtype)
    batch_size = check_count(batch_size, "batch_size", MAX_NUM_SAMPLES)
    sharding = check_sharding(sharding, batch_size)
    shards = 1 if sharding is None else len(sharding.device_set)
    check_memory(batch_size // shards * example_bytes(args.layout, dtype),
                 f"sample_batch with batch_size={batch_size}",
                 "draw smaller batches", None if sharding is None else sharding.device_set)
    seed = args.seed if args.shuffle_seq else 0  # only the position permutation uses the seed
    return _sample(key, args.scales, args.layout, seed, batch_size, dtype, sharding)
