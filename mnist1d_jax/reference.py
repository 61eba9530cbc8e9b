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
from .args import NUM_CLASSES, SCALE_FIELDS, as_args, check_classes, jit_seedless
from .checks import check_memory, is_traced, platform
from .draws import Draws
from .files import check_format, load, save
from .outputs import check_output
from .templates import check_templates


class Replay(NamedTuple):
    """The reference's random draws, in its order: per-example draws in class order (all 0s, then
    all 1s, ...), the example permutation (n,), and the position permutation (F,) or None."""

    draws: Draws
    permutation: np.ndarray
    seq_permutation: np.ndarray | None


def draw_numpy(random, args) -> Draws:
    """One example's draws, as the reference's `transform` makes them from `random` (a
    `np.random.RandomState`, or the `np.random` module for the global state): `rand()`
    (padding), `rand()` (scale), `choice(max_translation)` (shift), `randn(L)` twice (correlated,
    then iid noise), `rand()` (shear). NumPy int64 and float64 leaves."""
    low, high = args.padding
    length = args.layout.dilated_len
    padding = np.int64(low + int(random.rand() * (high - low + 1)))
    scale = np.float64(random.rand())
    shift = np.int64(random.choice(args.max_translation))
    corr_noise, iid_noise = random.randn(length), random.randn(length)
    return Draws(padding, scale, shift, corr_noise, iid_noise, np.float64(random.rand()))


def replay_numpy(args, random=None) -> Replay:
    """Replays the reference's calls on `random`: by default a fresh
    `np.random.RandomState(args.seed)`; `compat` passes the `np.random` module, seeded as the
    reference seeds it, so that NumPy's global state ends where the reference leaves it.

    Per example `draw_numpy`, in class order; then `permutation(n)`; then, if `shuffle_seq`,
    `permutation(final_seq_length)`. NumPy float64.
    """
    layout = args.layout
    rs = np.random.RandomState(args.seed) if random is None else random
    per_example = [draw_numpy(rs, args) for _ in range(layout.num_examples)]
    draws = Draws(*(np.stack(field) for field in zip(*per_example)))
    permutation = rs.permutation(layout.num_examples)
    seq_permutation = rs.permutation(layout.final_seq_length) if layout.shuffle_seq else None
    return Replay(draws, permutation, seq_permutation)


@functools.partial(jit_seedless, static_argnames=("dtype",))
def _from_replay(draws, permutation, seq_permutation, args, dtype, bank, grid) -> dict:
    layout = args.layout
    labels = recipe.class_labels(jnp.arange(layout.num_examples), layout)
    xs = recipe.examples(draws, labels, args, dtype, bank)[permutation]
    xs = recipe.permute_positions(xs, seq_permutation)
    mean, scale = recipe.dataset_mean_and_scale(xs)
    return recipe.split(recipe.normalise(xs, mean, scale), labels[permutation],
                        recipe.normalise(grid, 0, scale), layout)


def _reference_templates(templates, name: str) -> dict:
    """A template set the reference's `make_dataset` takes: ten classes (it loops over ten), any
    number of points; `ValueError` naming `name` otherwise."""
    templates = check_templates(templates, name)
    if len(templates["x"]) != NUM_CLASSES or is_traced(templates["x"], templates["t"]):
        raise ValueError(f"{name} for the reference's recipe must be {NUM_CLASSES} concrete "
                         f"classes (it loops over ten); got {len(templates['x'])}: make_dataset "
                         "takes any number")
    return templates


def reference_dataset(args=None, *, dtype="float64", templates=None, random=None,
                      name: str = "templates") -> dict:
    """What the reference's `mnist1d.data.make_dataset(args, templates)` returns, computed by this
    package's transforms from draws replayed on `np.random.RandomState(args.seed)`.

    For the default arguments this is the original published MNIST-1D dataset. float64 is enabled
    only locally, for this call. `templates`: other digit shapes in the layout of
    `get_templates()`, ten classes of any number of points (default: those); `name`: what
    errors call them. `random`: where the draws come from (`replay_numpy`;
    default a fresh `RandomState(args.seed)`, leaving NumPy's global state alone).

    Returns:
      dict of NumPy arrays in the reference's layout: `x`, `x_test` of `dtype`; `y`, `y_test` int64;
      `t`; `templates` (float64).
    """
    args = as_args(args)
    dtype = np.dtype(dtype) if dtype in ("float32", "float64", np.float32, np.float64) else None
    if dtype is None:
        raise ValueError("dtype must be 'float32' or 'float64'")
    templates = _reference_templates(templates, name)
    if recipe.has_label_noise(args):
        raise ValueError("label_noise and test_label_noise must be 0 for the reference's recipe "
                         "(it has no label noise); make_dataset draws it from a JAX key")
    layout = check_classes(args, NUM_CLASSES)
    check_memory(layout.num_examples * (recipe.example_bytes(layout, np.float64, platform())
                                        + 8 * 2 * layout.dilated_len),
                 f"reference_dataset with num_samples={args.num_samples}")
    replay = replay_numpy(args, random)
    draws = Draws(*(a.astype(dtype) if a.dtype.kind == "f" else a for a in replay.draws))
    scales = {name: np.asarray(getattr(args, name), dtype) for name in SCALE_FIELDS}
    with jax.enable_x64(True):
        data = _from_replay(draws, replay.permutation, replay.seq_permutation,
                            args.replace(**scales), dtype,
                            recipe.dilation_bank(templates["x"], layout).astype(dtype),
                            recipe.t_grid(layout, templates["t"]).astype(dtype))
        data = jax.tree.map(np.asarray, data)
    data["y"], data["y_test"] = data["y"].astype(np.int64), data["y_test"].astype(np.int64)
    return {**data, "templates": templates}


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
    check_output(path, check_format(path))
    data = reference_dataset(args)
    save(data, path, args)
    return {**data, "args": args.as_dict()}
