"""The generation recipe, in one place: labels, example order, raw examples, label noise,
normalisation, `t`.

`make_dataset`, `sample_batch`, the chunked writer and the reference replay all build their output
from these functions. An example of class `c` is the template of `c` pushed through the transform
steps with its random `Draws`; a dataset puts `num_samples // C` examples of each of the C classes
in a keyed order, normalises all values (by default by their own mean and std), and divides the
position grid `t` by the same std.

What a template set contributes to a compiled program (its dilation bank, its grid, its population
moments) is prepared once, outside the program (`prepare`), and passed in as arguments: a new
template set of the same shape does not recompile, and traced templates are differentiable.

A new transform step does not touch this module: `transforms`'s docstring lists the places it does.

Shapes: `n` examples, `C` classes, `T` template points, `P` paddings, `L` dilated length,
`F = final_seq_length`.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from . import stats, transforms
from .args import Layout
from .checks import is_traced
from .draws import Draws, draw, draw_labelled, index_permutation, noisy_labels

NORMALIZE_MODES = ("dataset", "population", "none")
"""The named normalisations: the data's own statistics (the reference's), the exact population
statistics, none (raw signals). `Statistics` or another `DatasetArgs` name a fourth: given ones."""


class Source(NamedTuple):
    """What a template set contributes to a compiled program, for one layout and dtype.

    Attributes:
      bank: (C, P, L) every template padded and dilated at every padding (`dilation_bank`).
      grid: (F,) the reference's `t` before its division by the data's std (`t_grid`).
      population: the `stats.PopulationTable` (the population mean and variance polynomial for
        any `max_translation`).
    """

    bank: jax.Array
    grid: jax.Array
    population: stats.PopulationTable


@functools.lru_cache(maxsize=32)  # a memo of a pure function of hashable, concrete inputs
def _concrete_source(layout: Layout, shape, x_bytes: bytes, t_bytes: bytes, dtype: str) -> Source:
    x = np.frombuffer(x_bytes, np.float64).reshape(shape)
    bank = dilation_bank(x, layout)
    table = stats.population_table(layout, bank)
    grid = t_grid(layout, np.frombuffer(t_bytes, np.float64))
    # NumPy arrays: arguments of the compiled programs (constants where a caller's trace holds
    # them), never device arrays made inside someone's trace
    return Source(bank.astype(dtype), grid.astype(dtype),
                  stats.PopulationTable(*(v.astype(dtype) for v in table)))


def prepare(args, templates: dict, dtype) -> Source:
    """The `Source` of checked `templates` (`templates.check_templates`) for `args`' layout and
    `dtype`.

    Concrete templates are dilated, and their population moments computed, in float64 NumPy on
    the host (as the reference computes its signals) and the result memoised; traced templates
    are prepared by the same functions in JAX, in the working dtype, differentiably.
    """
    layout = args.layout.with_classes(len(templates["x"]))
    x, t = templates["x"], templates["t"]
    dtype = np.dtype(dtype)
    if not is_traced(x, t):
        return _concrete_source(layout, x.shape, np.asarray(x, np.float64).tobytes(),
                                np.asarray(t, np.float64).tobytes(), dtype.name)
    bank = dilation_bank(jnp.asarray(x, dtype), layout)
    return Source(bank, jnp.asarray(t_grid(layout, jnp.asarray(t, dtype)), dtype),
                  stats.population_table(layout, bank))


def source_layout(args, source: Source) -> Layout:
    """`args.layout` for the source's number of classes (a static shape, also under `jit`)."""
    return args.layout.with_classes(source.bank.shape[0])


def class_labels(indices, layout: Layout):
    """Labels (int32) of class-order example `indices` (n,): the reference makes
    `num_samples // C` examples of class 0, then of class 1, and so on. NumPy in, NumPy out."""
    return (indices // (layout.num_samples // layout.num_classes)).astype(np.int32)


def examples(draws: Draws, labels, args, dtype, bank):
    """The un-normalised signals (n, F) of `dtype` for batched `draws` and `labels` (n,): the
    dilated template of each label, looked up in the (C, P, L) `bank` (`Source.bank`), then
    steps 3-8."""
    x = jnp.asarray(bank, dtype)[labels, draws.padding - args.padding[0]]
    return jax.vmap(transforms.transform_dilated, (0, 0, None))(draws, x, args)


def dilation_bank(template_x, layout: Layout):
    """Every template (C, T) padded and dilated at every padding: (C, P, L), float64 NumPy for
    NumPy templates, JAX for JAX ones (`transforms.dilation_bank`)."""
    return transforms.dilation_bank(template_x, layout.padding, layout.dilated_len)


def permute_positions(x, seq_permutation):
    """x (n, F) with its positions permuted by `seq_permutation` (F,), or unchanged if `None`."""
    return x if seq_permutation is None else x[:, seq_permutation]


def position_permutation(args) -> np.ndarray | None:
    """The fixed permutation (F,) of positions applied when `args.shuffle_seq` (else `None`): a
    function of `args.seed` alone, so a stream and a dataset of the same arguments share it,
    whatever their keys."""
    if not args.shuffle_seq:
        return None
    return np.random.default_rng(args.seed).permutation(args.final_seq_length).astype(np.int32)


LABEL_NOISE_TAG = 0x6C61626C
"""Folded into a dataset's or stream's key to make its label-noise key (an independent stream:
the draws of the examples do not change when label noise is asked)."""


def has_label_noise(args) -> bool:
    """Whether `args` may ask for label noise: a fraction that is traced or not 0. A static
    decision, so programs without label noise draw none."""
    return any(is_traced(v) or v != 0 for v in (args.label_noise, args.test_label_noise))


def ordered_examples(key, positions, seq_permutation, args, dtype, source: Source,
                     label_noise: bool = False):
    """The un-normalised examples at output `positions` (c,) of the dataset made from `key`.

    `key` splits into a draws key and an order key; output position `i` holds class-order example
    `j = index_permutation(order key, i, n)`, of class `class_labels(j)`, whose draws come from
    `fold_in(draws key, j)`. Labels at positions below `num_train` get label noise
    `args.label_noise`, the others `args.test_label_noise`, each drawn from example `j`'s own
    label-noise key (when `label_noise`, `has_label_noise(args)`; none otherwise). Every position
    is computed on its own, so any subset (a chunk, a shard)
    equals the same rows of the whole.

    Returns:
      x (c, F) of `dtype`, positions permuted by `seq_permutation` (F,) when given; y (c,) int32
      (noisy where asked); `noisy` (c,) bool, where a label was changed; the examples' `Draws`
      (leaves (c, ...); unused outputs cost nothing under `jit`).
    """
    layout = source_layout(args, source)
    k_draws, k_order = jax.random.split(key)
    index = index_permutation(k_order, positions, layout.num_examples)
    labels = class_labels(index, layout)
    draws = jax.vmap(lambda i: draw(jax.random.fold_in(k_draws, i), args, dtype))(index)
    x = permute_positions(examples(draws, labels, args, dtype, source.bank), seq_permutation)
    if not label_noise:
        return x, labels, jnp.zeros(labels.shape, bool), draws
    fraction = jnp.where(positions < layout.num_train, args.label_noise, args.test_label_noise)
    labels, noisy = noisy_labels(jax.random.fold_in(key, LABEL_NOISE_TAG), labels, index, fraction,
                                 layout.num_classes)
    return x, labels, noisy, draws


def stream_examples(key, indices, seq_permutation, args, dtype, source: Source,
                    label_noise: bool = False):
    """Un-normalised examples of a stream: example `i` of `indices` (c,) and its uniformly random
    label both come from `fold_in(key, i)` alone; its label noise (`args.label_noise`, when
    `label_noise`) from `fold_in(fold_in(key, LABEL_NOISE_TAG), i)`. Returns x (c, F) of
    `dtype`, y (c,) int32, `noisy` (c,) bool and the examples' `Draws`."""
    num_classes = source.bank.shape[0]
    labels, draws = jax.vmap(
        lambda i: draw_labelled(jax.random.fold_in(key, i), args, dtype, num_classes))(indices)
    x = permute_positions(examples(draws, labels, args, dtype, source.bank), seq_permutation)
    if not label_noise:
        return x, labels, jnp.zeros(labels.shape, bool), draws
    labels, noisy = noisy_labels(jax.random.fold_in(key, LABEL_NOISE_TAG), labels, indices,
                                 args.label_noise, num_classes)
    return x, labels, noisy, draws


def normalise(x, mean, scale):
    """`(x - mean) * (1 / scale)`, NumPy or JAX, where `scale = stats.divisor(std)` (a zero std
    read as 1, so a dataset without variance is centred, not NaN).

    A product with the reciprocal, not a division: XLA rewrites a division by a scalar as that
    product in some programs and not in others (a jitted function returning only `x` of a
    dataset did, the whole dataset did not), which changed the last bit between them."""
    return (x - mean) * (1 / scale)


def population_mean_and_scale(args, source: Source, dtype):
    """The exact population mean and `stats.divisor` of the std for `args` (scales possibly
    traced) and the source's templates, of `dtype`."""
    population = population_of(args, source)
    std = stats.population_std(population, args)
    return jnp.asarray(population.mean, dtype), stats.divisor(std.astype(dtype))


def population_of(args, source: Source) -> stats.Population:
    """The population coefficients for `args.max_translation` (traced or not) and the source's
    templates (`stats.population_at`)."""
    return stats.population_at(source.population, args.max_translation, args.final_seq_length)


def dataset_mean_and_scale(xs, replicated=None):
    """The mean and `stats.divisor` of the std of all values of xs (n, F), reduced in an order
    that does not depend on how xs is sharded: each row's sum on the device holding the row, then
    the (n,) row sums, replicated on every device (`replicated`, a sharding, when xs is
    sharded), summed. Two passes (the mean, then the centred squares), as `jnp.std`."""
    def total(values):
        rows = values.sum(1)
        if replicated is not None:
            rows = jax.lax.with_sharding_constraint(rows, replicated)
        return rows.sum()

    xs = jax.lax.optimization_barrier(xs)  # reduce the materialised values, not a fusion with
    count = xs.size                         # their producer, whose order depends on the sharding
    mean = total(xs) / count
    return mean, stats.divisor(jnp.sqrt(total(jnp.square(xs - mean)) / count))


def mean_and_scale(normalize, xs, args, source: Source, dtype, replicated=None):
    """The mean and scale (`stats.divisor` of a std) that `normalize` asks for: `"dataset"` (of
    xs, the reference's), `"population"` (exact, `population_mean_and_scale`), `"none"` (0 and
    1: raw signals) or given `stats.Statistics`."""
    if isinstance(normalize, stats.Statistics):
        return (jnp.asarray(normalize.mean, dtype),
                stats.divisor(jnp.asarray(normalize.std, dtype)))
    if normalize == "dataset":
        return dataset_mean_and_scale(xs, replicated)
    if normalize == "population":
        return population_mean_and_scale(args, source, dtype)
    return None


def normalised(xs, grid, normalize, args, source: Source, dtype, replicated=None):
    """xs (n, F) and `t` (from `grid` (F,)) normalised as `normalize` asks (`mean_and_scale`);
    unchanged for `"none"`."""
    statistics = mean_and_scale(normalize, xs, args, source, dtype, replicated)
    if statistics is None:
        return xs, grid
    mean, scale = statistics
    return normalise(xs, mean, scale), normalise(grid, 0, scale)


def split(xs, ys, t, layout: Layout) -> dict:
    """A whole dataset from its examples xs (n, F) and labels ys (n,) in output order and its
    grid `t`, split at `num_train` (the reference's order of operations: normalised, then
    split)."""
    cut = layout.num_train
    return {"x": xs[:cut], "x_test": xs[cut:], "y": ys[:cut], "y_test": ys[cut:], "t": t}


def t_grid(layout: Layout, template_t):
    """The reference's `t` before its division by the data's std: (F,) from the templates' grid
    `template_t` (T,), NumPy (float64) or JAX as given."""
    return transforms.transform_grid(template_t, layout.dilated_len, layout.final_seq_length)


def example_bytes(layout: Layout, dtype, platform: str = "cpu") -> int:
    """Estimated peak bytes per example while a batch is generated in memory, from XLA's buffer
    assignment of the compiled programs (`memory_analysis()` over several layouts; tested on the
    CPU; the figures in docs/benchmarks.md): temporaries of `11 L + F + 28` values on a CPU, where
    the transform steps are not fused (`L = dilated_len`, `F = final_seq_length`), `2 L + F + 3`
    on a GPU (the draws alone), plus the output (`F` values and a label). Other platforms are
    counted as the CPU. Used to refuse sizes that cannot fit before anything is traced."""
    length, width = layout.dilated_len, layout.final_seq_length
    temporaries = 2 * length + width + 3 if platform == "gpu" else 11 * length + width + 28
    return np.dtype(dtype).itemsize * (temporaries + width) + 4


def templates_as_held(templates: dict, dtype, int_dtype) -> dict:
    """A template set as a dataset holds it: `x` (C, T), `t` (T,) of `dtype`, `y` (C,)."""
    return {"x": jnp.asarray(templates["x"], dtype), "t": jnp.asarray(templates["t"], dtype),
            "y": jnp.asarray(templates["y"], int_dtype)}
