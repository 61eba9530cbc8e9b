"""Datasets larger than memory: generated in chunks into a folder of `.npy` files.

The folder holds `x.npy`, `x_test.npy`, `y.npy`, `y_test.npy`, `t.npy`, `templates_{x,t,y}.npy` and
`args.json`; `load(folder)` opens the arrays memory-mapped. The content equals
`make_dataset(key, args)` (same draws, same order) up to float rounding of the statistics:

1. the example order (a permutation of n int32) is drawn once, as in `make_dataset`;
2. pass one generates chunk after chunk of output positions, writes the raw signals and
   accumulates the sum and sum of squares in float64;
3. pass two normalises the files in place, chunk by chunk, with the global mean and std.

Peak memory is set by `chunk_size`, plus the example order: 4 bytes per example kept, about 32
while it is drawn (a sort by two 32-bit keys). Measured (`benchmarks/throughput.py --to-disk`):
10 million examples with the default chunk of 100,000 add about 460 MB to the process. The folder
is built under a temporary name beside the target and renamed at the end: an interrupted run
leaves no partial folder under the final name, and an earlier folder there stays intact.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np

from . import transforms
from .args import NUM_CLASSES, Layout, as_args, from_parts
from .dataset import check_positive_int, check_key, examples, position_permutation
from .draws import draw, permutation
from .io import atomic_folder, write_folder_metadata
from .templates import get_templates

ARRAYS = ("x", "x_test", "y", "y_test", "t")


@functools.partial(jax.jit, static_argnames=("layout",))
def _order(key, layout: Layout):
    k_draws, k_perm = jax.random.split(key)
    return k_draws, permutation(k_perm, layout.num_examples)


@functools.partial(jax.jit, static_argnames=("layout",))
def _chunk(k_draws, indices, scales, seq_permutation, layout: Layout):
    """Raw (un-normalised) float32 signals and labels of class-order example `indices` (c,)."""
    args = from_parts(layout, scales)
    draws = jax.vmap(lambda i: draw(jax.random.fold_in(k_draws, i), args))(indices)
    labels = (indices // (layout.num_samples // NUM_CLASSES)).astype(jnp.int32)
    x = examples(draws, labels, args, jnp.float32)
    if seq_permutation is not None:
        x = x[:, seq_permutation]
    return x, labels


def _open_npy(path, shape, dtype) -> int:
    """Creates an `.npy` file of `shape` and `dtype`; returns the byte offset of its data."""
    array = np.lib.format.open_memmap(path, mode="w+", dtype=dtype, shape=shape)
    offset = array.offset
    del array
    return offset


def _spans(total: int, size: int):
    return [(start, min(start + size, total)) for start in range(0, total, size)]


def write_dataset(path, key=None, args=None, *, chunk_size: int = 100_000,
                  progress: Callable[[str, int, int], None] | None = None) -> dict:
    """Generates `make_dataset(key, args)` chunk by chunk into the folder `path` (float32).

    Args:
      path: the folder to create (replaced atomically if it exists).
      key: a JAX key; `None` means `jax.random.key(args.seed)`.
      args: `DatasetArgs`, a mapping, or `None`.
      chunk_size: examples generated (and held in memory) at a time.
      progress: optional callback `progress(stage, done, total)` after each chunk.

    Returns:
      a summary dict: `path`, `shapes`, `class_counts` (train, test), `mean`, `std` (before
      normalisation).
    """
    args = as_args(args)
    key = jax.random.key(args.seed) if key is None else check_key(key)
    chunk_size = check_positive_int(chunk_size, "chunk_size")
    parent = os.path.dirname(os.path.abspath(os.fspath(path)))
    if not os.path.isdir(parent):
        raise ValueError(f"path: folder {parent!r} does not exist")
    layout = args.layout
    n, n_train, width = layout.num_examples, layout.num_train, layout.final_seq_length
    k_draws, order = _order(key, layout)
    order = np.asarray(order)
    seq = position_permutation(args)
    spans = _spans(n, min(chunk_size, n))
    with atomic_folder(path) as folder:
        files = {name: os.path.join(folder, f"{name}.npy") for name in ARRAYS}
        offsets = {
            "x": _open_npy(files["x"], (n_train, width), np.float32),
            "x_test": _open_npy(files["x_test"], (n - n_train, width), np.float32),
            "y": _open_npy(files["y"], (n_train,), np.int32),
            "y_test": _open_npy(files["y_test"], (n - n_train,), np.int32),
        }
        total, total_sq = 0.0, 0.0
        counts = np.zeros((2, NUM_CLASSES), np.int64)
        for done, (start, stop) in enumerate(spans, 1):
            indices = np.zeros(spans[0][1], np.uint32)
            indices[: stop - start] = order[start:stop]
            x, y = jax.device_get(_chunk(k_draws, indices, args.scales, seq, layout))
            x, y = x[: stop - start].astype(np.float64), y[: stop - start]
            total, total_sq = total + x.sum(), total_sq + (x**2).sum()
            for part, lo, hi in _split(start, stop, n_train):
                counts[int(part == "x_test")] += np.bincount(y[lo - start:hi - start], minlength=10)
                _write_rows(files, offsets, part, lo - (0 if part == "x" else n_train),
                            x[lo - start:hi - start].astype(np.float32),
                            y[lo - start:hi - start])
            if progress:
                progress("generate", done, len(spans))
        mean = total / (n * width)
        std = float(np.sqrt(total_sq / (n * width) - mean**2))
        for done, (start, stop) in enumerate(spans, 1):
            for part, lo, hi in _split(start, stop, n_train):
                _normalise_rows(files[part], offsets[part], lo - (0 if part == "x" else n_train),
                                hi - lo, width, mean, std)
            if progress:
                progress("normalise", done, len(spans))
        grid = transforms.transform_grid(get_templates()["t"], layout.dilated_len, width)
        np.save(files["t"], (grid / std).astype(np.float32))
        write_folder_metadata(folder, get_templates(), args)
    return {"path": os.fspath(path), "shapes": {"x": (n_train, width),
                                                 "x_test": (n - n_train, width)},
            "class_counts": counts.tolist(), "mean": float(mean), "std": std}


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


def _normalise_rows(file, offset: int, row: int, count: int, width: int, mean, std) -> None:
    with open(file, "r+b") as handle:
        handle.seek(offset + row * width * 4)
        x = np.fromfile(handle, np.float32, count * width).astype(np.float64)
        handle.seek(offset + row * width * 4)
        handle.write(((x - mean) / std).astype(np.float32).tobytes())
