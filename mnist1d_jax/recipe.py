"""The generation recipe, in one place: labels, example order, raw examples, normalisation, `t`.

`make_dataset`, `sample_batch`, the chunked writer and the reference replay all build their output
from these functions. An example of class `c` is the template of `c` pushed through the transform
steps with its random `Draws`; a dataset puts `num_samples // 10` examples of each class in a
keyed order, normalises all values by their mean and std, and divides the position grid `t` by the
same std.

A new transform step does not touch this module: `transforms`'s docstring lists the places it does.

Shapes: `n` examples, `L` dilated length, `F = final_seq_length`.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from . import stats, transforms
from .args import NUM_CLASSES, Layout
from .draws import Draws, draw, draw_labelled, index_permutation
from .templates import get_templates


def class_labels(indices, layout: Layout):
    """Labels (int32) of class-order example `indices` (n,): the reference makes
    `num_samples // 10` examples of class 0, then of class 1, and so on. NumPy in, NumPy out."""
    return (indices // (layout.num_samples // NUM_CLASSES)).astype(np.int32)


def examples(draws: Draws, labels, args, dtype, bank=None):
    """The un-normalised signals (n, F) of `dtype` for batched `draws` and `labels` (n,): the
    dilated template of each label, looked up in the (10, P, L) `bank` (`dilation_bank`; default:
    the ten templates'), then steps 3-8."""
    layout = args.layout
    bank = dilation_bank(get_templates()["x"], layout) if bank is None else bank
    x = jnp.asarray(bank, dtype)[labels, draws.padding - layout.padding[0]]
    return jax.vmap(transforms.transform_dilated, (0, 0, None))(draws, x, args)


def dilation_bank(template_x, layout: Layout) -> np.ndarray:
    """Every template (10, template_len) padded and dilated at every padding: (10, P, L) float64
    NumPy (`transforms.dilation_bank`)."""
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


def ordered_examples(key, positions, seq_permutation, args, dtype):
    """The un-normalised examples at output `positions` (c,) of the dataset made from `key`.

    `key` splits into a draws key and an order key; output position `i` holds class-order example
    `j = index_permutation(order key, i, n)`, of class `class_labels(j)`, whose draws come from
    `fold_in(draws key, j)`. Every position is computed on its own, so any subset (a chunk, a
    shard) equals the same rows of the whole.

    Returns:
      x (c, F) of `dtype`, positions permuted by `seq_permutation` (F,) when given; y (c,) int32;
      the examples' `Draws` (leaves (c, ...); unused outputs cost nothing under `jit`).
    """
    k_draws, k_order = jax.random.split(key)
    index = index_permutation(k_order, positions, args.layout.num_examples)
    labels = class_labels(index, args.layout)
    draws = jax.vmap(lambda i: draw(jax.random.fold_in(k_draws, i), args, dtype))(index)
    x = permute_positions(examples(draws, labels, args, dtype), seq_permutation)
    return x, labels, draws


def stream_examples(key, indices, seq_permutation, args, dtype):
    """Un-normalised examples of a stream: example `i` of `indices` (c,) and its uniformly random
    label both come from `fold_in(key, i)` alone. Returns x (c, F) of `dtype`, y (c,) int32 and
    the examples' `Draws`."""
    labels, draws = jax.vmap(lambda i: draw_labelled(jax.random.fold_in(key, i), args, dtype))(
        indices)
    x = permute_positions(examples(draws, labels, args, dtype), seq_permutation)
    return x, labels, draws


def normalise(x, mean, scale):
    """`(x - mean) * (1 / scale)`, NumPy or JAX, where `scale = stats.divisor(std)` (a zero std
    read as 1, so a dataset without variance is centred, not NaN).

    A product with the reciprocal, not a division: XLA rewrites a division by a scalar as that
    product in some programs and not in others (a jitted function returning only `x` of a
    dataset did, the whole dataset did not), which changed the last bit between them."""
    return (x - mean) * (1 / scale)


def normalise_by_population(x, args, dtype):
    """x normalised by the exact population mean and std for `args` (`stats.mean_and_std`): how
    streamed examples, which have no dataset of their own to take statistics from, are scaled."""
    mean, std = stats.mean_and_std(args)
    return normalise(x, jnp.asarray(mean, dtype), stats.divisor(std.astype(dtype)))


def t_grid(layout: Layout, template_t=None):
    """The reference's `t` before its division by the data's std: (F,) float64 NumPy, from the
    templates' grid `template_t` (template_len,) (default: the ten templates')."""
    template_t = get_templates()["t"] if template_t is None else template_t
    return transforms.transform_grid(template_t, layout.dilated_len, layout.final_seq_length)


def normalised_split(xs, ys, layout: Layout, dtype, template_t=None) -> dict:
    """A whole dataset from its un-normalised examples xs (n, F) and labels ys (n,) in output
    order: normalised by the mean and std of all values, `t` (from `template_t`, see `t_grid`)
    divided by that std, split at `num_train` (the reference's order of operations)."""
    scale = stats.divisor(xs.std())
    xs = normalise(xs, xs.mean(), scale)
    split = layout.num_train
    return {"x": xs[:split], "x_test": xs[split:], "y": ys[:split], "y_test": ys[split:],
            "t": normalise(jnp.asarray(t_grid(layout, template_t), dtype), 0, scale)}


def example_bytes(layout: Layout, dtype, platform: str = "cpu") -> int:
    """Estimated peak bytes per example while a batch is generated in memory, from XLA's buffer
    assignment of the compiled programs (`memory_analysis()`, measured for several layouts; tested
    on the CPU): temporaries of `11 L + F + 28` values on a CPU, where the transform steps are
    not fused (`L = dilated_len`, `F = final_seq_length`), `2 L + F + 3` on a GPU (the draws
    alone; measured on an H200), plus the output (`F` values and a label). Other platforms are
    counted as the CPU. Used to refuse sizes that cannot fit before anything is traced."""
    length, width = layout.dilated_len, layout.final_seq_length
    temporaries = 2 * length + width + 3 if platform == "gpu" else 11 * length + width + 28
    return np.dtype(dtype).itemsize * (temporaries + width) + 4


def templates(dtype, int_dtype) -> dict:
    """The ten templates as a dataset holds them: `x` (10, 12), `t` (12,) of `dtype`, `y` (10,)."""
    raw = get_templates()
    return {"x": raw["x"].astype(dtype), "t": raw["t"].astype(dtype),
            "y": raw["y"].astype(int_dtype)}
