"""Whole datasets: `make_dataset` (JAX keys, one jitted call) and `reference_dataset` (NumPy
replay of the original generator, same transforms)."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

from . import stats, transforms
from .args import NUM_CLASSES, Layout, as_args, from_parts
from .draws import Draws, draw_batch, draw_labelled, permutation, replay_numpy
from .templates import get_templates


def check_key(key):
    """Returns `key` as a typed JAX key; accepts typed keys (`jax.random.key`) and legacy uint32
    keys (`jax.random.PRNGKey`). Raises `TypeError` for anything else."""
    dtype, shape = getattr(key, "dtype", None), getattr(key, "shape", None)
    if dtype is not None and jax.dtypes.issubdtype(dtype, jax.dtypes.prng_key) and shape == ():
        return key
    if isinstance(key, (jax.Array, np.ndarray)) and dtype == np.uint32 and shape == (2,):
        return jax.random.wrap_key_data(key)
    raise TypeError(
        "key must be a single JAX PRNG key, jax.random.key(seed) or jax.random.PRNGKey(seed); "
        f"got {type(key).__name__} with dtype {dtype} and shape {shape}"
    )


def check_dtype(dtype) -> np.dtype:
    """`float32` or `float64` as a NumPy dtype; `ValueError` otherwise."""
    try:
        dtype = np.dtype(dtype)
    except TypeError:
        dtype = None
    if dtype not in (np.float32, np.float64):
        raise ValueError(f"dtype must be float32 or float64, got {dtype!r}")
    if jax.dtypes.canonicalize_dtype(dtype) != dtype:
        raise ValueError(
            "dtype=float64 needs 64-bit JAX: call inside `with jax.enable_x64(True):`"
        )
    return dtype


def class_labels(layout: Layout):
    """(n,) int32 labels in the reference's generation order: `num_samples // 10` of each class."""
    return jnp.arange(layout.num_examples, dtype=jnp.int32) // (layout.num_samples // NUM_CLASSES)


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


def _assemble(draws: Draws, permutation, seq_permutation, args, dtype) -> dict:
    """Reference order of operations after the per-example transforms: permute examples, maybe
    permute positions, scale `t` by the std, normalise, split."""
    layout = args.layout
    labels = class_labels(layout)
    xs = examples(draws, labels, args, dtype)[permutation]
    ys = labels[permutation]
    if seq_permutation is not None:
        xs = xs[:, seq_permutation]
    grid = transforms.transform_grid(get_templates()["t"], layout.dilated_len,
                                     layout.final_seq_length)
    std = xs.std()
    xs = (xs - xs.mean()) / std
    split = layout.num_train
    return {"x": xs[:split], "x_test": xs[split:], "y": ys[:split], "y_test": ys[split:],
            "t": jnp.asarray(grid, dtype) / std}


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
    args = from_parts(layout, scales)
    k_draws, k_perm = jax.random.split(key)
    draws = draw_batch(k_draws, args, layout.num_examples, dtype)
    order = permutation(k_perm, layout.num_examples)
    return _assemble(draws, order, seq_permutation, args, dtype)


@_dataset_jit
def _from_replay(draws, permutation, seq_permutation, scales, layout: Layout, dtype) -> dict:
    return _assemble(draws, permutation, seq_permutation, from_parts(layout, scales), dtype)


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
    replay = replay_numpy(args)
    draws = Draws(*(a.astype(dtype) if a.dtype.kind == "f" else a for a in replay.draws))
    with jax.enable_x64(True):
        data = _from_replay(draws, replay.permutation, replay.seq_permutation,
                            tuple(np.asarray(s, dtype) for s in args.scales), args.layout, dtype)
        data = jax.tree.map(np.asarray, data)
    data["y"], data["y_test"] = data["y"].astype(np.int64), data["y_test"].astype(np.int64)
    return {**data, "templates": get_templates()}


def check_positive_int(value, name: str) -> int:
    """A positive Python integer, or `TypeError`/`ValueError` naming the argument `name`."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be a positive integer, got {value!r}")
    if value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def check_sharding(sharding, batch_size: int):
    """`None`, or a `NamedSharding` that splits axis 0 only, into parts dividing `batch_size`."""
    if sharding is None:
        return None
    if not isinstance(sharding, jax.sharding.NamedSharding):
        raise TypeError(f"sharding must be a jax.sharding.NamedSharding or None, got {sharding!r}")
    spec = tuple(sharding.spec)
    if any(axis is not None for axis in spec[1:]):
        raise ValueError(f"sharding must split the batch axis (axis 0) only, got spec {spec}")
    axes = spec[0] if spec else None
    axes = () if axes is None else axes if isinstance(axes, tuple) else (axes,)
    parts = int(np.prod([sharding.mesh.shape[a] for a in axes]))
    if batch_size % parts:
        raise ValueError(f"batch_size={batch_size} must be divisible by the {parts} shards of "
                         "the sharding's batch axis")
    return sharding


@functools.partial(jax.jit, static_argnames=("layout", "seed", "batch_size", "dtype", "sharding"))
def _sample(key, scales, layout: Layout, seed: int, batch_size: int, dtype, sharding) -> dict:
    args = from_parts(layout, scales, seed)
    index = jnp.arange(batch_size, dtype=jnp.uint32)
    if sharding is not None:
        index = jax.lax.with_sharding_constraint(index, sharding)
    labels, draws = jax.vmap(lambda i: draw_labelled(jax.random.fold_in(key, i), args, dtype))(index)
    x = examples(draws, labels, args, dtype)
    seq = position_permutation(args)
    if seq is not None:
        x = x[:, seq]
    mean, std = stats.mean_and_std(layout, scales)
    batch = {"x": (x - jnp.asarray(mean, dtype)) / std.astype(dtype), "y": labels}
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
    batch_size = check_positive_int(batch_size, "batch_size")
    sharding = check_sharding(sharding, batch_size)
    seed = args.seed if args.shuffle_seq else 0  # only the position permutation uses the seed
    return _sample(key, args.scales, args.layout, seed, batch_size, dtype, sharding)
