"""Datasets as files: `.pkl` (the reference's layout), `.npz`, folders of `.npy` files; the
checks of what is read.

- Loading never executes code (`unpickle.safe_unpickle` for pickles; `.npz` and `.npy` with
  `allow_pickle=False`), refuses what is not a regular file or folder, and bounds what a pickle's
  containers expand to by the file's size. Everything loaded is checked (shapes, dtypes, label
  range, recorded arguments against the arrays); a bad file is a `ValueError` naming it and the
  problem.
- Writing passes `outputs.check_output` and is atomic (see `outputs`).
"""

from __future__ import annotations

import json
import os
import pickle
import stat

import numpy as np

from .args import NUM_CLASSES, as_args
from .outputs import (FOLDER_FORMAT, FOLDER_META, atomic_folder, atomic_open, check_input,
                      check_output)
from .unpickle import check_expanded_size, safe_unpickle

DATA_KEYS = ("x", "x_test", "y", "y_test", "t")
TEMPLATE_KEYS = ("x", "t", "y")
FORMATS = (".pkl", ".npz")
FOLDER_FILES = frozenset({f"{k}.npy" for k in DATA_KEYS}
                         | {f"templates_{k}.npy" for k in TEMPLATE_KEYS} | {FOLDER_META})


def check_format(path) -> str:
    """`.pkl`, `.npz`, or `folder` (a path without extension: a folder of `.npy` files).
    `ValueError` naming `path` for any other extension."""
    ext = os.path.splitext(os.fspath(path).rstrip("/"))[1].lower()
    if ext == "":
        return "folder"
    if ext not in FORMATS:
        raise ValueError(f"path must end in one of {', '.join(FORMATS)}, or have no extension "
                         f"(a folder of .npy files); got {os.fspath(path)!r}")
    return ext


# ---------------------------------------------------------------------------------------------
# Checking a dataset


def _args_dict(args) -> dict | None:
    return None if args is None else as_args(args).as_dict()


def check_dataset(data, name: str = "data") -> dict:
    """Checks that `data` is an MNIST-1D dataset and returns it with NumPy arrays.

    Required: `x` (n_train, F) and `x_test` (n_test, F) float; `y` (n_train,) and `y_test`
    (n_test,) integers in [0, 10); `t` (F,) float; `templates` with `x` (10, 12)-like float, `t`,
    `y`. Signals held in memory must be finite (memory-mapped ones are not scanned). Optional
    `args`: valid dataset arguments whose sizes match the arrays.

    Raises:
      ValueError: naming `name` and the first problem found.
    """
    def bad(problem):
        return ValueError(f"{name} is not a valid MNIST-1D dataset: {problem}")

    if not isinstance(data, dict):
        raise bad(f"it holds a {type(data).__name__}, not a dict")
    templates = data.get("templates")
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
        if not all(0 <= part.min() and part.max() < NUM_CLASSES
                   for part in row_chunks(data[labels], 1 << 20) if len(part)):
            raise bad(f"{labels} holds labels outside [0, {NUM_CLASSES})")
    for key in ("x", "x_test", "t"):
        if not isinstance(data[key], np.memmap) and not np.isfinite(data[key]).all():
            raise bad(f"{key} holds values that are not finite")
    templates = data["templates"]
    tx, tt, ty = (templates[k] for k in TEMPLATE_KEYS)
    if not (_kind(tx, "f", 2) and _kind(tt, "f", 1) and _kind(ty, "iu", 1)
            and tx.shape == (len(ty), len(tt))):
        raise bad(f"templates must be x (classes, points) float, t (points,) float and y "
                  f"(classes,) integer; got {tx.shape}, {tt.shape}, {ty.shape}")


def _check_recorded(recorded, data: dict, bad) -> dict:
    """The recorded arguments, valid and matching the arrays' sizes."""
    try:
        args = as_args(dict(recorded))
    except (TypeError, ValueError) as error:
        raise bad(f"its recorded arguments are invalid: {error}") from None
    layout = args.layout
    expected = {"x": (layout.num_train, layout.final_seq_length),
                "x_test": (layout.num_examples - layout.num_train, layout.final_seq_length)}
    for key, shape in expected.items():
        if data[key].shape != shape:
            raise bad(f"its recorded arguments (num_samples={args.num_samples}, train_split="
                      f"{args.train_split}, final_seq_length={args.final_seq_length}) give "
                      f"{key} of shape {shape}, but it holds {data[key].shape}")
    return args.as_dict()


# ---------------------------------------------------------------------------------------------
# Saving and loading


def write_folder_metadata(folder, templates: dict, args=None) -> None:
    """Writes `templates_{x,t,y}.npy` and `mnist1d_jax.json` (the format mark and the recorded
    arguments, or null) into `folder`."""
    for name in TEMPLATE_KEYS:
        np.save(os.path.join(folder, f"templates_{name}.npy"), np.asarray(templates[name]))
    with open(os.path.join(folder, FOLDER_META), "w") as handle:
        json.dump({"format": FOLDER_FORMAT, "version": 1, "args": _args_dict(args)}, handle,
                  indent=1)


def save(data: dict, path, args=None) -> None:
    """Writes a dataset atomically; `args` (optional) is recorded beside the arrays.

    `.pkl`: the reference's pickled dict (protocol 3), readable by `mnist1d.utils.from_pickle`
    (with an extra `args` key when recorded); `.npz`: the same arrays, templates as `templates_x`
    etc., args as JSON in `args_json`; a path without extension: a folder of `.npy` files.

    Raises:
      ValueError: `data` is not a valid dataset, or `path` may not be written (`check_output`).
      OSError: the write failed (naming `path`).
    """
    kind = check_format(path)
    data = check_dataset({**data, "args": _args_dict(args) if args is not None
                          else data.get("args")})
    check_output(path, kind)
    recorded = data.pop("args", None)
    if kind == "folder":
        with atomic_folder(path) as folder:
            for name in DATA_KEYS:
                np.save(os.path.join(folder, f"{name}.npy"), data[name])
            write_folder_metadata(folder, data["templates"], recorded)
        return
    with atomic_open(path) as handle:
        if kind == ".pkl":
            pickle.dump({**data, "args": recorded} if recorded else data, handle, protocol=3)
        else:
            templates = {f"templates_{k}": v for k, v in data.pop("templates").items()}
            extra = {"args_json": np.array(json.dumps(recorded))} if recorded else {}
            np.savez(handle, **data, **templates, **extra)


def _read_npy(folder, name: str, mmap: bool):
    file = os.path.join(folder, name)
    if not os.path.isfile(file):
        raise ValueError(f"{name} is missing")
    return np.load(file, mmap_mode="r" if mmap else None, allow_pickle=False)


def _read_folder(path) -> dict:
    data = {name: _read_npy(path, f"{name}.npy", True) for name in DATA_KEYS}
    data["templates"] = {name: _read_npy(path, f"templates_{name}.npy", False)
                         for name in TEMPLATE_KEYS}
    meta_file = os.path.join(path, FOLDER_META)
    if os.path.exists(meta_file):
        with open(meta_file) as handle:
            meta = json.load(handle)
        if not isinstance(meta, dict):
            raise ValueError(f"{FOLDER_META} does not hold a JSON object")
        data["args"] = meta.get("args")
    return data


def _read_npz(path) -> dict:
    with np.load(path, allow_pickle=False) as archive:
        data = {k: archive[k] for k in archive.files}
    data["templates"] = {k: data.pop(f"templates_{k}") for k in TEMPLATE_KEYS
                         if f"templates_{k}" in data}
    if "args_json" in data:
        data["args"] = json.loads(str(data.pop("args_json")))
    return data


def _read_pickle(path) -> dict:
    """A pickle read safely, its containers bounded by the file's size (an honest pickle spends
    at least a byte per element; memo references can make a small file expand without bound)."""
    with open(path, "rb") as handle:
        data = safe_unpickle(handle)
        check_expanded_size(data, os.fstat(handle.fileno()).st_size + 1024)
    return data


def _read(path, kind: str):
    mode = os.stat(path).st_mode
    if kind == "folder":
        if not stat.S_ISDIR(mode):
            raise ValueError("it is not a folder (a path without extension is read as a folder "
                             "of .npy files)")
        return _read_folder(path)
    if stat.S_ISDIR(mode):
        raise ValueError("it is a folder")
    return _read_npz(path) if kind == ".npz" else _read_pickle(path)


def load(path, kind: str | None = None) -> dict:
    """Reads a dataset written by `save`, `write_dataset` or the reference, safely and checked.

    Pickles are read without executing anything (see the module docstring); folders are opened
    memory-mapped. The result has an `args` dict when the writer recorded one.

    Args:
      path: a `.pkl`, `.npz` or folder.
      kind: `.pkl`, `.npz` or `folder` whatever the name (`compat` reads pickles under any
        name, as the reference does); default from the extension.

    Raises:
      ValueError: an unknown extension, a special file (FIFO, device), a file that is not a valid
        MNIST-1D dataset (truncated, corrupted, inconsistent, or a pickle that would run code or
        expand beyond its size), naming `path` and the problem.
      FileNotFoundError: nothing at `path`.
      OSError: the file could not be read (permissions, I/O errors).
    """
    given = os.fspath(path)
    kind = check_format(given) if kind is None else kind
    check_input(given)
    try:
        data = _read(given, kind)
    except OSError:
        raise
    except Exception as error:  # noqa: BLE001 - any parse failure of untrusted bytes
        problem = str(error) or type(error).__name__
        raise ValueError(f"{given!r} is not a readable MNIST-1D dataset: {problem}") from None
    return check_dataset(data, repr(given))
