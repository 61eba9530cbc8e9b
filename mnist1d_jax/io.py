"""Saving and loading datasets (`.pkl` in the reference's layout, `.npz`), with atomic writes."""

from __future__ import annotations

import contextlib
import json
import os
import pickle
import shutil
import tempfile

import numpy as np

from .args import as_args
from .dataset import reference_dataset

DATA_KEYS = ("x", "x_test", "y", "y_test", "t")
TEMPLATE_KEYS = ("x", "t", "y")
FORMATS = (".pkl", ".npz")


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


@contextlib.contextmanager
def atomic_open(path, mode: str = "wb"):
    """Opens a temporary file beside `path`; on success it is fsynced and renamed to `path`.

    On any exception the temporary file is removed and an existing file at `path` is untouched.
    """
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{os.path.basename(path)}.", suffix=".tmp")
    try:
        with os.fdopen(fd, mode) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


@contextlib.contextmanager
def atomic_folder(path):
    """Yields a temporary folder beside `path`; on success it replaces `path`.

    An existing folder at `path` is moved aside first and deleted only after the new folder is in
    place. On any exception the temporary folder is removed and `path` is untouched.
    """
    path = os.path.abspath(os.fspath(path).rstrip("/"))
    parent, name = os.path.split(path)
    tmp = tempfile.mkdtemp(dir=parent, prefix=f".{name}.", suffix=".tmp")
    try:
        yield tmp
        old = None
        if os.path.exists(path):
            old = tempfile.mkdtemp(dir=parent, prefix=f".{name}.", suffix=".old")
            os.replace(path, os.path.join(old, name))
        os.replace(tmp, path)
        if old is not None:
            shutil.rmtree(old)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise



def _args_dict(args) -> dict | None:
    return None if args is None else as_args(args).as_dict()


def write_folder_metadata(folder, templates: dict, args=None) -> None:
    """Writes `templates_{x,t,y}.npy` and, if `args` is given, `args.json` into `folder`."""
    for name in TEMPLATE_KEYS:
        np.save(os.path.join(folder, f"templates_{name}.npy"), np.asarray(templates[name]))
    if args is not None:
        with open(os.path.join(folder, "args.json"), "w") as handle:
            json.dump(_args_dict(args), handle, indent=1)


def _to_numpy(data: dict) -> dict:
    missing = [k for k in DATA_KEYS if k not in data]
    templates = data.get("templates")
    missing += [f"templates[{k!r}]" for k in TEMPLATE_KEYS
                if not isinstance(templates, dict) or k not in templates]
    if missing:
        raise ValueError(f"data is not an MNIST-1D dataset: missing keys {missing}")
    out = {k: data[k] if isinstance(data[k], np.memmap) else np.asarray(data[k])
           for k in DATA_KEYS}
    out["templates"] = {k: np.asarray(data["templates"][k]) for k in TEMPLATE_KEYS}
    if data.get("args") is not None:
        out["args"] = dict(data["args"])
    return out


def save(data: dict, path, args=None) -> None:
    """Writes a dataset atomically; `args` (optional) is recorded beside the arrays.

    `.pkl`: the reference's pickled dict (protocol 3), readable by `mnist1d.utils.from_pickle`
    (with an extra `args` key when recorded); `.npz`: the same arrays, templates as `templates_x`
    etc., args as JSON in `args_json`; a path without extension: a folder of `.npy` files.
    """
    kind = check_format(path)
    data = _to_numpy(data)
    recorded = _args_dict(args) if args is not None else data.pop("args", None)
    data.pop("args", None)
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


def _load_folder(path) -> dict:
    data = {name: np.load(os.path.join(path, f"{name}.npy"), mmap_mode="r", allow_pickle=False)
            for name in DATA_KEYS}
    data["templates"] = {name: np.load(os.path.join(path, f"templates_{name}.npy"))
                         for name in TEMPLATE_KEYS}
    args_file = os.path.join(path, "args.json")
    if os.path.exists(args_file):
        with open(args_file) as handle:
            data["args"] = json.load(handle)
    return data


def load(path) -> dict:
    """Reads a dataset written by `save`, `write_dataset` or the reference. Folders are opened
    memory-mapped. The result has an `args` dict when the writer recorded one. Only load pickles
    you trust.

    Raises:
      ValueError: an unknown extension, or the file is not an MNIST-1D dataset.
      FileNotFoundError: nothing at `path`.
    """
    kind = check_format(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"no dataset at {os.fspath(path)!r}")
    try:
        if kind == "folder":
            data = _load_folder(path)
        elif kind == ".pkl":
            with open(path, "rb") as handle:
                data = pickle.load(handle)
        else:
            with np.load(path, allow_pickle=False) as archive:
                data = {k: archive[k] for k in archive.files}
            data["templates"] = {k: data.pop(f"templates_{k}") for k in TEMPLATE_KEYS
                                 if f"templates_{k}" in data}
            if "args_json" in data:
                data["args"] = json.loads(str(data.pop("args_json")))
    except (pickle.UnpicklingError, EOFError, ValueError, OSError, AttributeError) as error:
        raise ValueError(f"{os.fspath(path)!r} is not a readable MNIST-1D dataset: {error}") from None
    if not isinstance(data, dict):
        raise ValueError(f"{os.fspath(path)!r} is not an MNIST-1D dataset: it holds a "
                         f"{type(data).__name__}, not a dict")
    try:
        return _to_numpy(data)
    except ValueError as error:
        raise ValueError(f"{os.fspath(path)!r} is not an MNIST-1D dataset: {error}") from None


def default_path(args) -> str:
    """The reference's cache file name: `./mnist1d_data.pkl` (`_shuffle` before the extension
    when `args.shuffle_seq`)."""
    return "./mnist1d_data{}.pkl".format("_shuffle" if args.shuffle_seq else "")


def get_dataset(args=None, path=None, regenerate: bool = False) -> dict:
    """Loads the dataset at `path` if it exists, else builds it with `reference_dataset(args)`
    (for default arguments, the original published dataset) and saves it there atomically.

    Unlike the reference, never downloads. `regenerate=True` rebuilds and overwrites.
    """
    args = as_args(args)
    path = default_path(args) if path is None else path
    check_format(path)
    if os.path.exists(path) and not regenerate:
        return load(path)
    data = reference_dataset(args)
    save(data, path, args)
    return {**data, "args": args.as_dict()}
