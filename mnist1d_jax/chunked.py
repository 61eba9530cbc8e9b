"""Datasets larger than memory: generated in chunks into a folder of `.npy` files.

The folder holds `x.npy`, `x_test.npy`, `y.npy`, `y_test.npy`, `t.npy`, `templates_{x,t,y}.npy` and
`mnist1d_jax.json`; `load(folder)` opens the arrays memory-mapped. The content is
`make_dataset(key, args)` (the same recipe, `recipe.ordered_examples`, for each chunk of output
positions): order and labels bit for bit, signals and `t` within 2e-6 (tested), the statistics
being summed in float64 here and reduced in float32 there:

1. pass one generates chunk after chunk of output positions, writes the raw signals and
   accumulates the sum and sum of squares in float64;
2. pass two normalises the files in place, chunk by chunk, with the global mean and std.

No array grows with the number of examples: the example order is a keyed bijection computed per
position (`draws.index_permutation`), so peak memory is set by `chunk_size` alone
(`benchmarks/throughput.py --to-disk` measures it). The folder is built under a temporary name
beside the target and renamed at the end: an interrupted run leaves no partial folder under the
final name, and an earlier folder there stays intact.
"""

from __future__ import annotations

import functools
import os
import shutil
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np

from . import recipe, stats
from .args import Layout, as_args, check_classes, jit_seedless
from .checks import check_count, check_key, check_memory, platform
from .dataset import check_normalize
from .files import write_folder_metadata
from .outputs import atomic_folder, check_output
from .templates import check_concrete, check_templates

ARRAYS = ("x", "x_test", "y", "y_test", "t")
MAX_CHUNK_SIZE = 2**24


@functools.partial(jit_seedless, static_argnames=("size", "label_noise"))
def _chunk(key, start, args, seq_permutation, source, size: int, label_noise: bool):
    """Raw (un-normalised) float32 signals (size, F), labels (size,) and where label noise
    changed them (size,) of output positions `start .. start + size - 1` (positions past the end
    repeat the last one)."""
    layout = recipe.source_layout(args, source)
    positions = jnp.minimum(start + jnp.arange(size, dtype=jnp.uint32),
                            jnp.uint32(layout.num_examples - 1))
    return recipe.ordered_examples(key, positions, seq_permutation, args, jnp.float32, source,
                                   label_noise)[:3]


def dataset_bytes(layout: Layout) -> int:
    """Bytes of a folder written by `write_dataset` (float32 signals, int32 labels)."""
    return layout.num_examples * (4 * layout.final_seq_length + 4) + (1 << 16)


def _open_npy(path, shape, dtype) -> int:
    """Creates an `.npy` file of `shape` and `dtype`; returns the byte offset of its data."""
    array = np.lib.format.open_memmap(path, mode="w+", dtype=dtype, shape=shape)
    offset = array.offset
    del array
    return offset


def _spans(total: int, size: int):
    return [(start, min(start + size, total)) for start in range(0, total, size)]


def write_dataset(path, key=None, args=None, *, templates=None, normalize="dataset",
                  chunk_size: int = 100_000,
                  progress: Callable[[str, int, int], None] | None = None) -> dict:
    """Generates `make_dataset(key, args, templates=..., normalize=...)` chunk by chunk into the
    folder `path` (float32).

    Args:
      path: the folder to create; an existing one is replaced atomically only if this package
        wrote it (`outputs.check_output`).
      key: a JAX key; `None` means `jax.random.key(args.seed)`.
      args: `DatasetArgs`, a mapping, or `None`.
      templates: the template set (as `make_dataset`'s); default the reference's ten.
      normalize: as `make_dataset`'s (`"dataset"`: statistics summed in float64 here).
      chunk_size: examples generated (and held in memory) at a time, in `[1, 2**24]`.
      progress: optional callback `progress(stage, done, total)` after each chunk.

    Returns:
      a summary dict: `path`, `shapes`, `class_counts` (train, test), `mean`, `std` (of the
      signals before normalisation), `normalized_by` (the mean and std they were normalised by,
      0 and 1 for `"none"`), `labels_changed` (train, test: labels label noise changed).

    Raises:
      ValueError: bad arguments, a path that may not be written, a chunk that does not fit in
        memory or a dataset that does not fit on the disk, all before anything is generated.
    """
    args = as_args(args)
    key = jax.random.key(args.seed) if key is None else check_key(key)
    chunk_size = check_count(chunk_size, "chunk_size", MAX_CHUNK_SIZE)
    templates = check_concrete(check_templates(templates), "templates written to files")
    layout = check_classes(args, len(templates["x"]))
    mode, given = check_normalize(normalize, recipe.NORMALIZE_MODES, templates)
    source = recipe.prepare(args, templates, np.float32)
    noise = recipe.has_label_noise(args)
    classes = layout.num_classes
    n, n_train, width = layout.num_examples, layout.num_train, layout.final_seq_length
    size = min(chunk_size, n)
    check_output(path, "folder")
    check_memory(size * recipe.example_bytes(layout, np.float32, platform()),
                 f"chunk_size={chunk_size}",
                 "choose a smaller chunk_size")
    needed = dataset_bytes(layout)
    free = shutil.disk_usage(os.path.dirname(os.path.abspath(os.fspath(path)))).free
    if needed > free:
        raise ValueError(f"{os.fspath(path)!r}: {n:,} examples need {needed / 1e9:.1f} GB on "
                         f"disk, but only {free / 1e9:.1f} GB are free there")
    seq = recipe.position_permutation(args)
    spans = _spans(n, size)
    with atomic_folder(path) as folder:
        files = {name: os.path.join(folder, f"{name}.npy") for name in ARRAYS}
        offsets = {
            "x": _open_npy(files["x"], (n_train, width), np.float32),
            "x_test": _open_npy(files["x_test"], (n - n_train, width), np.float32),
            "y": _open_npy(files["y"], (n_train,), np.int32),
            "y_test": _open_npy(files["y_test"], (n - n_train,), np.int32),
        }
        total, total_sq = 0.0, 0.0
        counts = np.zeros((2, classes), np.int64)
        changed = np.zeros(2, np.int64)
        for done, (start, stop) in enumerate(spans, 1):
            x, y, noisy = jax.device_get(_chunk(key, np.uint32(start), args, seq, source, size,
                                                noise))
            x, y, noisy = x[: stop - start].astype(np.float64), y[: stop - start], \
                noisy[: stop - start]
            total, total_sq = total + x.sum(), total_sq + (x**2).sum()
            for part, lo, hi in _split(start, stop, n_train):
                counts[int(part == "x_test")] += np.bincount(y[lo - start:hi - start],
                                                             minlength=classes)
                changed[int(part == "x_test")] += int(noisy[lo - start:hi - start].sum())
                _write_rows(files, offsets, part, lo - (0 if part == "x" else n_train),
                            x[lo - start:hi - start].astype(np.float32),
                            y[lo - start:hi - start])
            if progress:
                progress("generate", done, len(spans))
        mean = total / (n * width)
        std = float(np.sqrt(max(total_sq / (n * width) - mean**2, 0.0)))
        by = _normalised_by(mode, given, mean, std, args, source)
        for done, (start, stop) in enumerate(spans, 1):
            for part, lo, hi in _split(start, stop, n_train) if by != (0.0, 1.0) else ():
                _normalise_rows(files[part], offsets[part], lo - (0 if part == "x" else n_train),
                                hi - lo, width, by[0], float(stats.divisor(by[1])))
            if progress:
                progress("normalise", done, len(spans))
        grid = recipe.t_grid(layout, templates["t"])
        np.save(files["t"], recipe.normalise(grid, 0.0, float(stats.divisor(by[1])))
                .astype(np.float32))
        write_folder_metadata(folder, templates, args,
                              mode if mode != "given" else {"mean": by[0], "std": by[1]})
    return {"path": os.fspath(path), "shapes": {"x": (n_train, width),
                                                "x_test": (n - n_train, width)},
            "class_counts": counts.tolist(), "mean": float(mean), "std": std,
            "normalized_by": by, "labels_changed": changed.tolist()}


def _normalised_by(mode: str, given, mean: float, std: float, args, source) -> tuple:
    """The (mean, std) `mode` normalises by: the data's own (`"dataset"`), the population's, the
    given ones, or (0, 1) for `"none"`."""
    if mode == "dataset":
        return mean, std
    if mode == "none":
        return 0.0, 1.0
    if mode == "population":
        population = recipe.population_of(args, source)
        return float(population.mean), float(stats.population_std(population, args))
    return float(given.mean), float(given.std)


def _split(start: int, stop: int, n_train: int):
    """The parts of output rows [start, stop): ("x", lo, hi) and/or ("x_test", lo, hi)."""
    parts = []
    if start < n_train:
        parts.append(("x", start, min(stop, n_train)))
    if stop > n_train:
        parts.append(("x_test", max(start, n_train), stop))
    return parts


def _write_rows(files, offsets, part: str, row: int, x: np.ndarray, y: np.ndarray) -> None:
    labels = "y" if part == "x" else "y_test"
    for name, values in ((part, x), (labels, y)):
        with open(files[name], "r+b") as handle:
            handle.seek(offsets[name] + row * values[0].nbytes)
            handle.write(np.ascontiguousarray(values).tobytes())


def _normalise_rows(file, offset: int, row: int, count: int, width: int, mean, scale) -> None:
    with open(file, "r+b") as handle:
        handle.seek(offset + row * width * 4)
        x = np.fromfile(handle, np.float32, count * width).astype(np.float64)
        handle.seek(offset + row * width * 4)
        handle.write(recipe.normalise(x, mean, scale).astype(np.float32).tobytes())
