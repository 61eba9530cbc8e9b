"""Datasets as files: `.pkl` (the reference's layout), `.npz`, folders of `.npy` files.

- Loading never executes code (`unpickle.safe_unpickle` for pickles; `.npz` and `.npy` with
  `allow_pickle=False`), refuses what is not a regular file or folder, and bounds what a pickle's
  containers expand to by the file's size. Everything loaded is checked (`validate`); a bad file
  is a `ValueError` naming it and the problem.
- Writing passes `outputs.check_output` and is atomic (see `outputs`). This module owns the
  output kinds `.pkl`, `.npz` and `folder`: an existing path is replaced by one only if `load`
  reads it as such (a folder: only if it holds this package's files and nothing else).
"""

from __future__ import annotations

import functools
import io
import json
import os
import pickle
import stat
from typing import Any

import numpy as np

from .outputs import (
    Kind,
    atomic_folder,
    atomic_open,
    check_input,
    check_output,
    read_regular,
    register_kind,
)
from .templates import MAX_CLASSES, MAX_TEMPLATE_POINTS, check_templates
from .unpickle import check_expanded_size, safe_unpickle
from .validate import DATA_KEYS, TEMPLATE_KEYS, check_dataset, recorded_args, recorded_normalization

FORMATS = (".pkl", ".npz")
FOLDER_META = "mnist1d_jax.json"
FOLDER_FORMAT = "mnist1d-jax dataset folder"
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


def write_folder_metadata(folder, templates: dict, args=None, normalize=None) -> None:
    """Writes `templates_{x,t,y}.npy` and `mnist1d_jax.json` (the format mark, the recorded
    arguments or null, and the recorded normalisation when known) into `folder`."""
    for name in TEMPLATE_KEYS:
        np.save(os.path.join(folder, f"templates_{name}.npy"), np.asarray(templates[name]))
    meta = {"format": FOLDER_FORMAT, "version": 1, "args": recorded_args(args)}
    if normalize is not None:
        meta["normalize"] = recorded_normalization(normalize)
    with open(os.path.join(folder, FOLDER_META), "w") as handle:
        json.dump(meta, handle, indent=1)


def save(data: dict, path, args=None, *, normalize=None) -> None:
    """Writes a dataset atomically; `args` and `normalize` (optional: how its signals were
    normalised, `make_dataset`'s `normalize=` or a `{"mean", "std"}` dict) are recorded beside
    the arrays (`data`'s own `args` and `normalize`, as `load` gives them, otherwise).

    `.pkl`: the reference's pickled dict (protocol 3), readable by `mnist1d.utils.from_pickle`
    (with extra `args` and `normalize` keys when recorded); `.npz`: the same arrays, templates as
    `templates_x` etc., args and normalisation as JSON in `args_json` and `normalize_json`; a path
    without extension: a folder of `.npy` files (both in its `mnist1d_jax.json`).

    Raises:
      ValueError: `data` is not a valid dataset, or `path` may not be written (`check_output`).
      OSError: the write failed (naming `path`).
    """
    kind = check_format(path)
    if isinstance(normalize, tuple) and not isinstance(normalize, dict):
        normalize = tuple(float(v) for v in normalize)  # a `Statistics` of arrays
    data = check_dataset({**data, "args": recorded_args(args) if args is not None
                          else data.get("args"),
                          "normalize": normalize if normalize is not None
                          else data.get("normalize")})
    check_output(path, kind)
    recorded, normalized = data.pop("args", None), data.pop("normalize", None)
    if kind == "folder":
        with atomic_folder(path) as folder:
            for name in DATA_KEYS:
                np.save(os.path.join(folder, f"{name}.npy"), data[name])
            write_folder_metadata(folder, data["templates"], recorded, normalized)
        return
    extra = {"args": recorded} if recorded else {}
    extra.update({"normalize": normalized} if normalized is not None else {})
    with atomic_open(path) as handle:
        if kind == ".pkl":
            pickle.dump({**data, **extra}, handle, protocol=3)
        else:
            templates = data.pop("templates")
            arrays: dict[str, Any] = {**data, **{f"templates_{k}": v
                                                 for k, v in templates.items()}}
            arrays.update({f"{k}_json": np.array(json.dumps(v)) for k, v in extra.items()})
            np.savez(handle, **arrays)


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
        data["normalize"] = meta.get("normalize")
    return data


def _read_npz(path) -> dict:
    with np.load(path, allow_pickle=False) as archive:
        data = {k: archive[k] for k in archive.files}
    data["templates"] = {k: data.pop(f"templates_{k}") for k in TEMPLATE_KEYS
                         if f"templates_{k}" in data}
    for name in ("args", "normalize"):
        if f"{name}_json" in data:
            data[name] = json.loads(str(data.pop(f"{name}_json")))
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


MAX_TEMPLATES_BYTES = 8 * MAX_CLASSES * MAX_TEMPLATE_POINTS + (1 << 16)
"""The largest template file read: a float64 set of the largest size, and its headers."""


def load_templates(path) -> dict:
    """A template set from a file, checked (`templates.check_templates`): a `.npy` holding the
    (C, T) array, or a `.npz` with `x` (C, T) and optionally `t` (T,) and `y` (the layout of
    `get_templates()`; a dataset written by `save` as `.npz` has them as `templates_x` etc.,
    also accepted). Read without executing anything (`allow_pickle=False`), size-bounded.

    Raises:
      ValueError: naming `path` and the problem. FileNotFoundError: nothing at `path`.
    """
    given = os.fspath(path)
    ext = os.path.splitext(given)[1].lower()
    if ext not in (".npy", ".npz"):
        raise ValueError(f"templates file must end in .npy (a (classes, points) array) or .npz "
                         f"(x, t); got {given!r}")
    raw = read_regular(given, MAX_TEMPLATES_BYTES, "template file")
    try:
        if ext == ".npy":
            templates = np.load(io.BytesIO(raw), allow_pickle=False)
        else:
            with np.load(io.BytesIO(raw), allow_pickle=False) as archive:
                names = {name.removeprefix("templates_"): name for name in archive.files
                         if name.removeprefix("templates_") in TEMPLATE_KEYS}
                templates = {key: archive[name] for key, name in names.items()}
        return check_templates(templates, f"the templates in {given!r}")
    except (ValueError, TypeError, OSError, EOFError) as error:
        message = str(error)
        if given not in message:
            message = f"{given!r} holds no readable template set: {message}"
        raise ValueError(message) from None


def _our_folder(target: str) -> str:
    """Why the folder `target` is not a dataset folder of this package ("" if it is one)."""
    try:
        with open(os.path.join(target, FOLDER_META)) as handle:
            meta = json.load(handle)
    except (OSError, ValueError):
        return f"it has no readable {FOLDER_META}, so this package did not write it"
    if not isinstance(meta, dict) or meta.get("format") != FOLDER_FORMAT:
        return f"its {FOLDER_META} is not this package's"
    others = sorted(set(os.listdir(target)) - FOLDER_FILES)
    return f"it holds files this package did not write: {others[:5]}" if others else ""


def dataset_file_problem(target: str, kind: str = ".pkl") -> str:
    """Why the regular file `target` is not an MNIST-1D dataset `kind` file that `load` reads
    ("" if it is one)."""
    try:
        load(target, kind)
    except ValueError:
        return f"it is not an MNIST-1D dataset {kind} file"
    return ""


def _dataset_file_kind(kind: str) -> Kind:
    return Kind(f"an MNIST-1D dataset {kind} file (one that `load` reads)",
                functools.partial(dataset_file_problem, kind=kind))


register_kind(".pkl", _dataset_file_kind(".pkl"))
register_kind(".npz", _dataset_file_kind(".npz"))
register_kind("folder", Kind(
    f"a dataset folder of this package (its {FOLDER_META} and nothing else)", _our_folder,
    folder=True, not_folder=" (a path without extension is written as a folder of .npy files)"))
