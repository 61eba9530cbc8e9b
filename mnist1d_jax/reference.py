"""The reference's dataset: its NumPy draws replayed (`replay_numpy`), the dataset they give
(`reference_dataset`, the published MNIST-1D for the default arguments), and the reference's
`get_dataset` (load the file if it holds that dataset, else build and save it)."""

from __future__ import annotations

import functools
import os
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from . import recipe
from .args import SCALE_FIELDS, as_args
from .checks import check_memory, platform
from .draws import Draws
from .io import check_format, check_output, load, save
from .templates import get_templates


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


@functools.partial(jax.jit, static_argnames=("dtype",))
def _from_replay(draws, permutation, seq_permutation, args, dtype) -> dict:
    labels = recipe.class_labels(jnp.arange(args.layout.num_examples), args.layout)
    xs = recipe.examples(draws, labels, args, dtype)[permutation]
    return recipe.normalised_split(recipe.permute_positions(xs, seq_permutation),
                                   labels[permutation], args.layout, dtype)


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
    layout = args.layout
    check_memory(layout.num_examples * (recipe.example_bytes(layout, np.float64, platform())
                                        + 8 * 2 * layout.dilated_len),
                 f"reference_dataset with num_samples={args.num_samples}")
    replay = replay_numpy(args)
    draws = Draws(*(a.astype(dtype) if a.dtype.kind == "f" else a for a in replay.draws))
    scales = {name: np.asarray(getattr(args, name), dtype) for name in SCALE_FIELDS}
    with jax.enable_x64(True):
        data = _from_replay(draws, replay.permutation, replay.seq_permutation,
                            args.replace(**scales).for_jit(), dtype)
        data = jax.tree.map(np.asarray, data)
    data["y"], data["y_test"] = data["y"].astype(np.int64), data["y_test"].astype(np.int64)
    return {**data, "templates": get_templates()}


def default_path(args) -> str:
    """The reference's cache file name: `./mnist1d_data.pkl` (`_shuffle` before the extension
    when `args.shuffle_seq`)."""
    return "./mnist1d_data{}.pkl".format("_shuffle" if args.shuffle_seq else "")


def mismatch(data: dict, args) -> str | None:
    """Why `data` is not the dataset `reference_dataset(args)` would give, or `None`.

    With recorded arguments, they are compared field by field. Without (the reference's own
    files), the sizes and the labels are compared with a replay of the reference's draws for
    `args` (the labels' order is a function of the seed and the sizes; files that differ only in
    the four float scales cannot be told apart this way).
    """
    args = as_args(args)
    if data.get("args") is not None:
        recorded = as_args(data["args"]).as_dict()
        wanted = args.as_dict()
        differ = [f"{k}={recorded[k]!r} instead of {wanted[k]!r}" for k in wanted
                  if recorded[k] != wanted[k]]
        return ", ".join(differ) or None
    layout = args.layout
    shapes = (len(data["y"]), len(data["y_test"]), data["x"].shape[1])
    wanted = (layout.num_train, layout.num_examples - layout.num_train, layout.final_seq_length)
    if shapes != wanted:
        return f"sizes (train, test, positions) {shapes} instead of {wanted}"
    labels = recipe.class_labels(np.arange(layout.num_examples), layout)
    if not np.array_equal(labels[replay_numpy(args).permutation],
                          np.concatenate([data["y"], data["y_test"]])):
        return f"labels that are not those of seed {args.seed}"
    return None


def get_dataset(args=None, path=None, regenerate: bool = False) -> dict:
    """Loads the dataset at `path` if it exists, else builds it with `reference_dataset(args)`
    (for default arguments, the original published dataset) and saves it there atomically.

    Unlike the reference, never downloads, and never returns a file made from other arguments
    (see `mismatch`). `regenerate=True` rebuilds and replaces it (a dataset file only).

    Raises:
      ValueError: `path` holds a dataset made with other arguments, or is not a dataset.
    """
    args = as_args(args)
    path = default_path(args) if path is None else path
    check_format(path)
    if os.path.lexists(path) and not regenerate:
        data = load(path)
        problem = mismatch(data, args)
        if problem:
            raise ValueError(f"{os.fspath(path)!r} holds a dataset made with other arguments "
                             f"({problem}); pass regenerate=True to replace it, or another path")
        return data
    check_output(path)
    data = reference_dataset(args)
    save(data, path, args)
    return {**data, "args": args.as_dict()}
