"""Whole datasets in one jitted call (`make_dataset`), fresh batches for training loops
(`sample_batch`, `sample_rows`) and the exact statistics they normalise by
(`population_statistics`), all built from `recipe`."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

from . import recipe, stats, transforms
from .args import (
    MAX_NUM_SAMPLES,
    DatasetArgs,
    as_args,
    check_classes,
    check_dilation_table,
    jit_seedless,
)
from .checks import (
    check_count,
    check_dtype,
    check_key,
    check_memory,
    check_sharding,
    is_traced,
    platform,
)
from .templates import check_concrete, check_templates


@functools.partial(jit_seedless, static_argnames=("dtype", "with_draws", "mode", "label_noise",
                                                  "sharding"))
def _generate(key, args, seq_permutation, source, given, dtype, with_draws: bool, mode: str,
              label_noise: bool, sharding) -> dict:
    layout = recipe.source_layout(args, source)
    positions = jnp.arange(layout.num_examples, dtype=jnp.uint32)
    replicated = None
    if sharding is not None:
        positions = jax.lax.with_sharding_constraint(positions, sharding)
        replicated = jax.sharding.NamedSharding(sharding.mesh, jax.sharding.PartitionSpec())
    xs, ys, noisy, draws = recipe.ordered_examples(key, positions, seq_permutation, args, dtype,
                                                   source, label_noise)
    xs, t = recipe.normalised(xs, source.grid, given if mode == "given" else mode, args, source,
                              dtype, replicated)
    data = recipe.split(xs, ys, t, layout)
    cut = layout.num_train
    if label_noise:
        data["noisy"], data["noisy_test"] = noisy[:cut], noisy[cut:]
    if with_draws:
        data["draws"] = jax.tree.map(lambda a: a[:cut], draws)
        data["draws_test"] = jax.tree.map(lambda a: a[cut:], draws)
    if sharding is not None:
        parts = len(sharding.device_set)
        data = {name: jax.tree.map(
            lambda a: jax.lax.with_sharding_constraint(a, sharding)
            if a.ndim and len(a) % parts == 0 else a, value) if name != "t" else value
            for name, value in data.items()}
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


def check_normalize(normalize, modes, templates: dict):
    """`normalize` as `(mode, given statistics or None)`: one of `modes`, `"given"` for
    `stats.Statistics` (or a `(mean, std)` pair) or for another `DatasetArgs` (its population
    statistics with `templates`). `ValueError` naming the choices otherwise."""
    if isinstance(normalize, DatasetArgs):
        return "given", population_statistics(normalize, templates)
    if isinstance(normalize, str):
        if normalize not in modes:
            raise ValueError(f"normalize must be one of {', '.join(map(repr, modes))}, a "
                             f"Statistics(mean, std) or another DatasetArgs; got {normalize!r}")
        return normalize, None
    if isinstance(normalize, tuple) and len(normalize) == 2:
        mean, std = normalize
        for name, value in (("mean", mean), ("std", std)):
            if not is_traced(value) and (not _is_real(value) or not np.isfinite(float(value))
                                         or (name == "std" and float(value) < 0)):
                raise ValueError(f"normalize's {name} must be a finite number"
                                 f"{' >= 0' if name == 'std' else ''}; got {value!r}")
        return "given", stats.Statistics(mean, std)
    raise TypeError(f"normalize must be one of {', '.join(map(repr, modes))}, a "
                    f"Statistics(mean, std) or another DatasetArgs; got {normalize!r}")


def _is_real(value) -> bool:
    return np.ndim(value) == 0 and np.asarray(value).dtype.kind in "fiu" \
        and not isinstance(value, (bool, np.bool_))


def _prepared(args, templates, dtype):
    """Checked templates, their layout (class-count checks included) and `recipe.Source`."""
    templates = check_templates(templates)
    layout = check_classes(args, len(templates["x"]))
    return templates, layout, recipe.prepare(args, templates, dtype)


def population_statistics(args=None, templates=None) -> stats.Statistics:
    """The exact population mean and std of all values of un-normalised signals of the
    distribution of `args` and `templates` (default: the reference's ten): what `make_dataset`
    estimates from its sample and `sample_batch` normalises by (`mnist1d_jax.stats`).

    Pass the result (or the other `DatasetArgs` itself) as `normalize=` to normalise another
    distribution's signals as these: an out-of-distribution test set scaled as its training set.
    The scales, `max_translation` and the templates may be traced: the statistics are then
    differentiable functions of them.

    Returns:
      `Statistics(mean, std)`, () float32 arrays.
    """
    args = as_args(args)
    _, _, source = _prepared_stream(args, templates, jnp.float32)
    population = recipe.population_of(args, source)
    return stats.Statistics(jnp.asarray(population.mean, jnp.float32),
                            stats.population_std(population, args).astype(jnp.float32))


def make_dataset(key=None, args=None, *, templates=None, normalize="dataset", sharding=None,
                 dtype=jnp.float32, with_draws=False) -> dict:
    """Generates a whole MNIST-1D dataset in one jitted call.

    Args:
      key: a JAX PRNG key (typed or legacy); `None` means `jax.random.key(args.seed)`.
      args: `DatasetArgs`, a mapping of argument names, or `None` for the defaults. The float
        scales, `max_translation` and the label-noise fractions may be traced (no recompilation
        when they change; the scales are differentiable).
      templates: the template set (`templates.check_templates`: a dict like `get_templates()`'s,
        `x` (C, T) and `t` (T,), or a bare (C, T) array); default the reference's ten. C classes
        get `num_samples // C` examples each. May be traced (differentiable; `vmap` over sets).
      normalize: `"dataset"` (default, the reference's: the mean and std of all values of this
        dataset), `"population"` (the exact statistics of the distribution), `"none"` (raw
        signals) or those of another distribution: `Statistics(mean, std)` (see
        `population_statistics`) or another `DatasetArgs`. `t` is divided by the same std.
      sharding: optional `jax.sharding.NamedSharding` splitting axis 0: each device generates its
        own examples; the dataset is the same bits as without it.
      dtype: `float32` (default) or `float64` (inside `jax.enable_x64(True)`).
      with_draws: also return each example's random `Draws` (default off: not computed into the
        output, no cost), for regression targets (`latents`) or to replay an example:
        `transform(draws_i, templates["x"][y_i], args)` is example i before normalisation.

    With `shuffle_seq`, the positions are permuted by `recipe.position_permutation(args)`, fixed
    by `args.seed` (so datasets and streams of the same arguments agree).

    Returns:
      dict of JAX arrays: `x` (n_train, F), `x_test` (n - n_train, F) normalised as asked
      (statistics over train and test together); `y` (n_train,), `y_test` int32 labels (with
      label noise where `args` asks); `t` (F,) the position grid divided by the same std;
      `templates` (dict `x` (C, T), `t` (T,), `y` (C,)); with label noise asked, `noisy` and
      `noisy_test`: bool, where a label was changed; with `with_draws`, `draws` and
      `draws_test`: `Draws` with leaves (n_train, ...) and (n - n_train, ...) in the dataset's
      order. `n = C * (num_samples // C)`, `n_train = int(n * train_split)`,
      `F = final_seq_length`.
    """
    args = as_args(args)
    dtype = check_dtype(dtype)
    with_draws = _check_flag(with_draws, "with_draws")
    key = jax.random.key(args.seed) if key is None else check_key(key)
    templates, layout, source = _prepared(args, templates, dtype)
    mode, given = check_normalize(normalize, recipe.NORMALIZE_MODES, templates)
    sharding = check_sharding(sharding, layout.num_examples, "the number of examples")
    shards = 1 if sharding is None else len(sharding.device_set)
    devices = None if sharding is None else sharding.device_set
    per_example = (recipe.example_bytes(layout, dtype, platform(devices))
                   + _draws_bytes(layout, dtype, with_draws))
    check_memory(layout.num_examples // shards * per_example,
                 f"make_dataset with num_samples={args.num_samples}",
                 "write it to a folder in chunks instead (mnist1d_jax.chunked.write_dataset, or "
                 "mnist1d-jax generate --out FOLDER)", devices)
    data = _generate(key, args, recipe.position_permutation(args), source, given, dtype,
                     with_draws, mode, recipe.has_label_noise(args), sharding)
    return {**data, "templates": recipe.templates_as_held(templates, dtype, jnp.int32)}


def _stream_rows(key, index, seq_permutation, args, dtype, source, given, mode: str,
                 label_noise: bool, with_draws: bool) -> dict:
    """Examples `index` (c,) of the stream from `key`, normalised as `mode` asks."""
    x, labels, noisy, draws = recipe.stream_examples(key, index, seq_permutation, args, dtype,
                                                     source, label_noise)
    x, _ = recipe.normalised(x, source.grid, given if mode == "given" else mode, args, source,
                             dtype)
    batch = {"x": x, "y": labels}
    if label_noise:
        batch["noisy"] = noisy
    if with_draws:
        batch["draws"] = draws
    return batch


STREAM_NORMALIZE_MODES = ("population", "none")
"""A stream has no dataset to take statistics from: the population's, none, or given ones."""


@functools.partial(jit_seedless, static_argnames=("batch_size", "dtype", "sharding",
                                                  "with_draws", "mode", "label_noise"))
def _sample(key, args, seq_permutation, source, given, batch_size: int, dtype, sharding,
            with_draws: bool, mode: str, label_noise: bool) -> dict:
    index = jnp.arange(batch_size, dtype=jnp.uint32)
    if sharding is not None:
        index = jax.lax.with_sharding_constraint(index, sharding)
    batch = _stream_rows(key, index, seq_permutation, args, dtype, source, given, mode,
                         label_noise, with_draws)
    if sharding is not None:
        batch = jax.lax.with_sharding_constraint(batch, sharding)
    return batch


def sample_batch(key, args, batch_size: int, *, templates=None, normalize="population",
                 sharding=None, dtype=jnp.float32, with_draws=False) -> dict:
    """Fresh examples from the MNIST-1D distribution, for use inside jitted training code.

    Example `i` of the batch comes from `fold_in(key, i)` alone, so results do not depend on the
    device count; a new key does not recompile. Labels are uniform over the C classes of the
    templates (with `args.label_noise`, each replaced with that probability by a uniform class).
    Signals are normalised by default by the exact population mean and std of the distribution
    (`population_statistics`), so batches match `make_dataset`'s scale; the std is a
    differentiable function of the (possibly traced) scales and templates.

    Args:
      key: a JAX PRNG key (typed or legacy).
      args: `DatasetArgs`, a mapping, or `None` for the defaults.
      batch_size: number of examples.
      templates: the template set, as `make_dataset`'s; default the reference's ten.
      normalize: `"population"` (default), `"none"` (raw signals), `Statistics(mean, std)` or
        another `DatasetArgs` (normalised as that distribution).
      sharding: optional `jax.sharding.NamedSharding` over the batch axis; each device then
        generates its own rows in place.
      dtype: `float32` or `float64` (inside `jax.enable_x64(True)`).
      with_draws: also return the examples' `Draws` (as `make_dataset`'s option).

    Returns:
      dict with `x` (batch_size, final_seq_length) and `y` (batch_size,) int32; with label noise
      asked, `noisy` (batch_size,) bool; with `with_draws`, `draws` (leaves (batch_size, ...)).
    """
    args = as_args(args)
    key = check_key(key)
    dtype = check_dtype(dtype)
    with_draws = _check_flag(with_draws, "with_draws")
    batch_size = check_count(batch_size, "batch_size", MAX_NUM_SAMPLES)
    templates, layout, source = _prepared_stream(args, templates, dtype)
    mode, given = check_normalize(normalize, STREAM_NORMALIZE_MODES, templates)
    sharding = check_sharding(sharding, batch_size)
    shards = 1 if sharding is None else len(sharding.device_set)
    devices = None if sharding is None else sharding.device_set
    per_example = (recipe.example_bytes(layout, dtype, platform(devices))
                   + _draws_bytes(layout, dtype, with_draws))
    check_memory(batch_size // shards * per_example, f"sample_batch with batch_size={batch_size}",
                 "draw smaller batches", devices)
    return _sample(key, args, recipe.position_permutation(args), source, given, batch_size, dtype,
                   sharding, with_draws, mode, recipe.has_label_noise(args))


def _prepared_stream(args, templates, dtype):
    """As `_prepared`, for a stream: no split, so no class-count checks on `num_samples`."""
    templates = check_templates(templates)
    check_dilation_table(args.template_len, args.padding, len(templates["x"]))
    layout = args.layout.with_classes(len(templates["x"]))
    return templates, layout, recipe.prepare(args, templates, dtype)


def stream_choices(args, templates, normalize) -> tuple:
    """`templates` and `normalize` for a stream kept by a loader (a picklable, checked template
    set of NumPy arrays, and the choice as given after its check), refused at construction."""
    templates = check_concrete(check_templates(templates), "a loader's templates")
    check_dilation_table(args.template_len, args.padding, len(templates["x"]))
    check_normalize(normalize, STREAM_NORMALIZE_MODES, templates)
    return templates, normalize


@functools.partial(jit_seedless, static_argnames=("dtype", "mode", "label_noise"))
def _rows(key, args, seq_permutation, source, given, index, dtype, mode: str,
          label_noise: bool) -> dict:
    return _stream_rows(key, index, seq_permutation, args, dtype, source, given, mode,
                        label_noise, False)


def sample_rows(key, args, indices, *, templates=None, normalize="population",
                dtype=jnp.float32) -> dict:
    """Rows `indices` of the stream that `sample_batch(key, args, ...)` draws from: row `j` is
    example `indices[j]`, made from `fold_in(key, indices[j])` alone, so it equals row
    `indices[j]` of any `sample_batch(key, args, m)` with `m > indices[j]` (same `templates`
    and `normalize`). For loaders that fetch records by index (Grain, PyTorch); one compilation
    per length of `indices`.

    Args:
      key: a JAX PRNG key. args: `DatasetArgs`, a mapping, or `None`.
      indices: (c,) integers in [0, 2**32 - 1].
      templates, normalize: as `sample_batch`'s.
      dtype: `float32` or `float64`.

    Returns:
      dict with `x` (c, final_seq_length) and `y` (c,) int32 (and `noisy` with label noise).
    """
    args = as_args(args)
    key = check_key(key)
    dtype = check_dtype(dtype)
    indices = np.asarray(indices)
    if indices.ndim != 1 or not np.issubdtype(indices.dtype, np.integer) or (
            indices.size and (indices.min() < 0 or indices.max() > 2**32 - 1)):
        raise ValueError(f"indices must be a 1-D sequence of integers in [0, 2**32 - 1]; got "
                         f"shape {indices.shape}, dtype {indices.dtype}")
    templates, layout, source = _prepared_stream(args, templates, dtype)
    mode, given = check_normalize(normalize, STREAM_NORMALIZE_MODES, templates)
    check_memory(len(indices) * recipe.example_bytes(layout, dtype, platform()),
                 f"sample_rows with {len(indices)} indices", "ask for fewer rows at a time")
    # at least MIN_ROWS rows per program: XLA compiles a one-row program differently (on the
    # CPU its rows differed from sample_batch's in the last bit; 2 to 127 rows were identical)
    count = len(indices)
    padded = np.concatenate([indices, np.zeros(max(MIN_ROWS - count, 0), indices.dtype)])
    rows = _rows(key, args, recipe.position_permutation(args), source, given,
                 jnp.asarray(padded.astype(np.uint32)), dtype, mode, recipe.has_label_noise(args))
    return rows if count >= MIN_ROWS else {k: v[:count] for k, v in rows.items()}


MIN_ROWS = 8
