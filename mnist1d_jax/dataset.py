"""Whole datasets in one jitted call (`make_dataset`) and fresh batches for training loops
(`sample_batch`), both built from `recipe`."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

from . import recipe, transforms
from .args import MAX_NUM_SAMPLES, as_args, jit_seedless
from .checks import (check_count, check_dtype, check_key, check_memory, check_sharding,
                     platform)


@functools.partial(jit_seedless, static_argnames=("dtype", "with_draws"))
def _generate(key, args, seq_permutation, dtype, with_draws: bool) -> dict:
    positions = jnp.arange(args.layout.num_examples, dtype=jnp.uint32)
    xs, ys, draws = recipe.ordered_examples(key, positions, seq_permutation, args, dtype)
    data = recipe.normalised_split(xs, ys, args.layout, dtype)
    if with_draws:
        split = args.layout.num_train
        data["draws"] = jax.tree.map(lambda a: a[:split], draws)
        data["draws_test"] = jax.tree.map(lambda a: a[split:], draws)
    return data


def _check_flag(value, name: str) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False; got {value!r}")
    return bool(value)


def _draws_bytes(layout, dtype, with_draws: bool) -> int:
    """Bytes per example of the returned `Draws` (two ints, two uniforms, two (L,) normals)."""
    return (2 * 4 + np.dtype(dtype).itemsize * (2 + 2 * layout.dilated_len)) * with_draws


def latents(draws, args=None) -> dict:
    """The interpretable latent factors of examples with `draws` (from `with_draws=True`), as
    regression targets: `padding` and `shift` (int), `scale` (the amplitude factor
    `transforms.scale_factor`) and `shear` (the slope `transforms.shear_coefficient`), each
    shaped as the draws' batch. (The class is the label `y`.)"""
    args = as_args(args)
    return {"padding": draws.padding, "shift": draws.shift,
            "scale": transforms.scale_factor(draws.scale, args.scale_coeff),
            "shear": transforms.shear_coefficient(draws.shear, args.shear_scale)}


def make_dataset(key=None, args=None, *, dtype=jnp.float32, with_draws=False) -> dict:
    """Generates a whole MNIST-1D dataset in one jitted call.

    Args:
      key: a JAX PRNG key (typed or legacy); `None` means `jax.random.key(args.seed)`.
      args: `DatasetArgs`, a mapping of argument names, or `None` for the defaults. The four float
        scales may be traced (no recompilation when they change; differentiable).
      dtype: `float32` (default) or `float64` (inside `jax.enable_x64(True)`).
      with_draws: also return each example's random `Draws` (default off: not computed into the
        output, no cost), for regression targets (`latents`) or to replay an example:
        `transform(draws_i, templates["x"][y_i], args)` is example i before normalisation.

    With `shuffle_seq`, the positions are permuted by `recipe.position_permutation(args)`, fixed
    by `args.seed` (so datasets and streams of the same arguments agree).

    Returns:
      dict of JAX arrays: `x` (n_train, F), `x_test` (n - n_train, F) normalised to mean 0, std 1
      over train and test together; `y` (n_train,), `y_test` int32 labels; `t` (F,) the
      position grid divided by the data's std; `templates` (dict `x` (10, 12), `t` (12,), `y`);
      with `with_draws`, `draws` and `draws_test`: `Draws` with leaves (n_train, ...) and
      (n - n_train, ...) in the dataset's order.
      `n = 10 * (num_samples // 10)`, `n_train = int(n * train_split)`, `F = final_seq_length`.
    """
    args = as_args(args)
    dtype = check_dtype(dtype)
    with_draws = _check_flag(with_draws, "with_draws")
    key = jax.random.key(args.seed) if key is None else check_key(key)
    layout = args.layout
    per_example = (recipe.example_bytes(layout, dtype, platform())
                   + _draws_bytes(layout, dtype, with_draws))
    check_memory(layout.num_examples * per_example,
                 f"make_dataset with num_samples={args.num_samples}",
                 "write it to a folder in chunks instead (mnist1d_jax.chunked.write_dataset, or "
                 "mnist1d-jax generate --out FOLDER)")
    data = _generate(key, args, recipe.position_permutation(args), dtype, with_draws)
    templates = recipe.templates(dtype, np.int32)
    return {**data, "templates": {k: jnp.asarray(v) for k, v in templates.items()}}


def _stream_rows(key, index, seq_permutation, args, dtype, with_draws: bool) -> dict:
    """Examples `index` (c,) of the stream from `key`, normalised by the population statistics."""
    x, labels, draws = recipe.stream_examples(key, index, seq_permutation, args, dtype)
    batch = {"x": recipe.normalise_by_population(x, args, dtype), "y": labels}
    if with_draws:
        batch["draws"] = draws
    return batch


@functools.partial(jit_seedless, static_argnames=("batch_size", "dtype", "sharding",
                                               "with_draws"))
def _sample(key, args, seq_permutation, batch_size: int, dtype, sharding,
            with_draws: bool = False) -> dict:
    index = jnp.arange(batch_size, dtype=jnp.uint32)
    if sharding is not None:
        index = jax.lax.with_sharding_constraint(index, sharding)
    batch = _stream_rows(key, index, seq_permutation, args, dtype, with_draws)
    if sharding is not None:
        batch = jax.lax.with_sharding_constraint(batch, sharding)
    return batch


def sample_batch(key, args, batch_size: int, *, sharding=None, dtype=jnp.float32,
                 with_draws=False) -> dict:
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
      with_draws: also return the examples' `Draws` (as `make_dataset`'s option).

    Returns:
      dict with `x` (batch_size, final_seq_length) and `y` (batch_size,) int32; with
      `with_draws`, `draws` (leaves (batch_size, ...)).
    """
    args = as_args(args)
    key = check_key(key)
    dtype = check_dtype(dtype)
    with_draws = _check_flag(with_draws, "with_draws")
    batch_size = check_count(batch_size, "batch_size", MAX_NUM_SAMPLES)
    sharding = check_sharding(sharding, batch_size)
    shards = 1 if sharding is None else len(sharding.device_set)
    devices = None if sharding is None else sharding.device_set
    per_example = (recipe.example_bytes(args.layout, dtype, platform(devices))
                   + _draws_bytes(args.layout, dtype, with_draws))
    check_memory(batch_size // shards * per_example, f"sample_batch with batch_size={batch_size}",
                 "draw smaller batches", devices)
    return _sample(key, args, recipe.position_permutation(args), batch_size, dtype,
                   sharding, with_draws)


@functools.partial(jit_seedless, static_argnames=("dtype",))
def _rows(key, args, seq_permutation, index, dtype) -> dict:
    return _stream_rows(key, index, seq_permutation, args, dtype, False)


def sample_rows(key, args, indices, *, dtype=jnp.float32) -> dict:
    """Rows `indices` of the stream that `sample_batch(key, args, ...)` draws from: row `j` is
    example `indices[j]`, made from `fold_in(key, indices[j])` alone, so it equals row
    `indices[j]` of any `sample_batch(key, args, m)` with `m > indices[j]`. For loaders that
    fetch records by index (Grain, PyTorch); one compilation per length of `indices`.

    Args:
      key: a JAX PRNG key. args: `DatasetArgs`, a mapping, or `None`.
      indices: (c,) integers in [0, 2**32 - 1].
      dtype: `float32` or `float64`.

    Returns:
      dict with `x` (c, final_seq_length) and `y` (c,) int32.
    """
    args = as_args(args)
    key = check_key(key)
    dtype = check_dtype(dtype)
    indices = np.asarray(indices)
    if indices.ndim != 1 or not np.issubdtype(indices.dtype, np.integer) or (
            indices.size and (indices.min() < 0 or indices.max() > 2**32 - 1)):
        raise ValueError(f"indices must be a 1-D sequence of integers in [0, 2**32 - 1]; got "
                         f"shape {indices.shape}, dtype {indices.dtype}")
    check_memory(len(indices) * recipe.example_bytes(args.layout, dtype, platform()),
                 f"sample_rows with {len(indices)} indices", "ask for fewer rows at a time")
    # at least MIN_ROWS rows per program: XLA compiles a one-row program differently (on the
    # CPU its rows differed from sample_batch's in the last bit; 2 to 127 rows were identical)
    count = len(indices)
    padded = np.concatenate([indices, np.zeros(max(MIN_ROWS - count, 0), indices.dtype)])
    rows = _rows(key, args, recipe.position_permutation(args),
                 jnp.asarray(padded.astype(np.uint32)), dtype)
    return rows if count >= MIN_ROWS else {k: v[:count] for k, v in rows.items()}


MIN_ROWS = 8
