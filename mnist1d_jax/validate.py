"""Checks of what is read: whether a dict of arrays is an MNIST-1D dataset (shapes, dtypes, label
range, finiteness, the templates, recorded arguments against the arrays), and reading large arrays
a chunk of rows at a time. `files.load` calls these on everything it reads, as do the adapters on
data handed to them."""

from __future__ import annotations

from typing import Any

import numpy as np

from .args import MIN_CLASSES, as_args
from .templates import MAX_CLASSES

DATA_KEYS = ("x", "x_test", "y", "y_test", "t")
TEMPLATE_KEYS = ("x", "t", "y")


def recorded_args(args) -> dict | None:
    """`args` (any form `as_args` takes) as the dict a file records, or None."""
    return None if args is None else as_args(args).as_dict()


NAMED_NORMALIZATIONS = ("dataset", "population", "none")


def recorded_normalization(normalize):
    """How a file's signals were normalised, as it records it: `"dataset"`, `"population"`,
    `"none"`, or `{"mean": m, "std": s}` for given statistics (a `Statistics`, a pair, or such
    a dict); None when not recorded. `ValueError` for anything else."""
    if normalize is None or (isinstance(normalize, str) and normalize in NAMED_NORMALIZATIONS):
        return normalize
    pair: Any = (normalize.get("mean"), normalize.get("std")) if isinstance(normalize, dict) \
        and set(normalize) == {"mean", "std"} else normalize
    try:
        mean, std = (float(v) for v in pair)
    except (TypeError, ValueError):
        mean = std = float("nan")
    if not (np.isfinite(mean) and np.isfinite(std) and std >= 0):
        raise ValueError(f"the recorded normalisation must be one of {NAMED_NORMALIZATIONS} or "
                         f"a finite mean and std >= 0; got {normalize!r}")
    return {"mean": mean, "std": std}


def check_dataset(data, name: str = "data") -> dict:
    """Checks that `data` is an MNIST-1D dataset and returns it with NumPy arrays.

    Required: `x` (n_train, F) and `x_test` (n_test, F) float; `y` (n_train,) and `y_test`
    (n_test,) integers in [0, C); `t` (F,) float; `templates` with `x` (C, T) float, `t` (T,),
    `y` the classes 0..C-1 (the class count travels with the file as its template set).
    Signals held in memory must be finite (memory-mapped ones are not scanned). Optional
    `args`: valid dataset arguments whose sizes match the arrays; optional `normalize`: how the
    signals were normalised (`recorded_normalization`).

    Raises:
      ValueError: naming `name` and the first problem found.
    """
    def bad(problem):
        return ValueError(f"{name} is not a valid MNIST-1D dataset: {problem}")

    if not isinstance(data, dict):
        raise bad(f"it holds a {type(data).__name__}, not a dict")
    templates = data.get("templates") or {}  # a missing set is named below
    missing = [k for k in DATA_KEYS if k not in data]
    missing += [f"templates[{k!r}]" for k in TEMPLATE_KEYS
                if not isinstance(templates, dict) or k not in templates]
    if missing:
        raise bad(f"missing keys {missing}")
    out = {k: data[k] if isinstance(data[k], np.memmap) else np.asarray(data[k])
           for k in DATA_KEYS}
    out["templates"] = {k: np.asarray(templates[k]) for k in TEMPLATE_KEYS}
    _check_arrays(out, bad)
    recorded = data.get("args")
    if recorded is not None:
        out["args"] = _check_recorded(recorded, out, bad)
    if data.get("normalize") is not None:
        try:
            out["normalize"] = recorded_normalization(data["normalize"])
        except ValueError as error:
            raise bad(str(error)) from None
    return out


def row_chunks(array, rows: int = 1 << 16):
    """Yields `array` (n, ...) as in-memory chunks of `rows` rows. A memory-mapped array from
    `load` is read from its file with plain reads, so scanning it does not make its pages part of
    the process's resident memory (as touching the mapping would)."""
    if isinstance(array, np.memmap) and array.filename and array.flags.c_contiguous:
        row_items = int(np.prod(array.shape[1:], dtype=np.int64))
        with open(array.filename, "rb") as handle:
            handle.seek(array.offset)
            for start in range(0, len(array), rows):
                count = min(rows, len(array) - start)
                chunk = np.fromfile(handle, array.dtype, count * row_items)
                yield chunk.reshape((count, *array.shape[1:]))
        return
    for start in range(0, len(array), rows):
        yield np.asarray(array[start:start + rows])


def _kind(array, kinds: str, ndim: int) -> bool:
    return array.dtype.kind in kinds and array.ndim == ndim


def _check_arrays(data: dict, bad) -> None:
    x, x_test, y, y_test, t = (data[k] for k in DATA_KEYS)
    for key, array, kinds, ndim, what in (("x", x, "f", 2, "2-D float"),
                                          ("x_test", x_test, "f", 2, "2-D float"),
                                          ("y", y, "iu", 1, "1-D integer"),
                                          ("y_test", y_test, "iu", 1, "1-D integer"),
                                          ("t", t, "f", 1, "1-D float")):
        if not _kind(array, kinds, ndim):
            raise bad(f"{key} must be {what}, got {array.dtype} of shape {array.shape}")
    if x.shape[1] != x_test.shape[1] or t.shape[0] != x.shape[1]:
        raise bad(f"x {x.shape}, x_test {x_test.shape} and t {t.shape} must have the same "
                  "number of positions")
    for signals, labels in (("x", "y"), ("x_test", "y_test")):
        if len(data[signals]) != len(data[labels]):
            raise bad(f"{labels} has {len(data[labels])} labels for {len(data[signals])} "
                      f"examples in {signals}")
    for key in ("x", "x_test", "t"):
        if not isinstance(data[key], np.memmap) and not np.isfinite(data[key]).all():
            raise bad(f"{key} holds values that are not finite")
    templates = data["templates"]
    tx, tt, ty = (templates[k] for k in TEMPLATE_KEYS)
    if not (_kind(tx, "f", 2) and _kind(tt, "f", 1) and _kind(ty, "iu", 1)
            and tx.shape == (len(ty), len(tt))):
        raise bad(f"templates must be x (classes, points) float, t (points,) float and y "
                  f"(classes,) integer; got {tx.shape}, {tt.shape}, {ty.shape}")
    if not MIN_CLASSES <= len(ty) <= MAX_CLASSES or ty.tolist() != list(range(len(ty))):
        raise bad(f"templates['y'] must be the classes 0..C-1 in order, {MIN_CLASSES} <= C <= "
                  f"{MAX_CLASSES}")
    classes = len(ty)
    for labels in ("y", "y_test"):
        if not all(0 <= part.min() and part.max() < classes
                   for part in row_chunks(data[labels], 1 << 20) if len(part)):
            raise bad(f"{labels} holds labels outside [0, {classes}) (the templates' classes)")


def _check_recorded(recorded, data: dict, bad) -> dict:
    """The recorded arguments, valid and matching the arrays' sizes."""
    try:
        args = as_args(dict(recorded))
    except (TypeError, ValueError) as error:
        raise bad(f"its recorded arguments are invalid: {error}") from None
    layout = args.layout.with_classes(len(data["templates"]["y"]))
    expected = {"x": (layout.num_train, layout.final_seq_length),
                "x_test": (layout.num_examples - layout.num_train, layout.final_seq_length)}
    for key, shape in expected.items():
        if data[key].shape != shape:
            raise bad(f"its recorded arguments (num_samples={args.num_samples}, train_split="
                      f"{args.train_split}, final_seq_length={args.final_seq_length}) give "
                      f"{key} of shape {shape}, but it holds {data[key].shape}")
    return args.as_dict()
