"""Whole datasets: `make_dataset` (JAX keys, one jitted call) and `reference_dataset` (NumPy
replay of the original generator, same transforms)."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

from . import transforms
from .args import NUM_CLASSES, Layout, as_args, from_parts
from .draws import Draws, draw_batch, permutation, replay_numpy
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


@_dataset_jit
def _generate(key, scales, layout: Layout, dtype) -> dict:
    args = from_parts(layout, scales)
    k_draws, k_perm, k_seq = jax.random.split(key, 3)
    draws = draw_batch(k_draws, args, layout.num_examples, dtype)
    order = permutation(k_perm, layout.num_examples)
    seq = permutation(k_seq, layout.final_seq_length) if layout.shuffle_seq else None
    return _assemble(draws, order, seq, args, dtype)


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

    Returns:
      dict of JAX arrays: `x` (n_train, F), `x_test` (n - n_train, F) normalised to mean 0, std 1
      over train and test together; `y` (n_train,), `y_test` int32 labels; `t` (F,) the
      position grid divided by the data's std; `templates` (dict `x` (10, 12), `t` (12,), `y`).
      `n = 10 * (num_samples // 10)`, `n_train = int(n * train_split)`, `F = final_seq_length`.
    """
    args = as_args(args)
    dtype = check_dtype(dtype)
    key = jax.random.key(args.seed) if key is None else check_key(key)
    data = _generate(key, args.scales, args.layout, dtype)
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
