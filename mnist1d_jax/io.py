"""Saving and loading datasets (`.pkl` in the reference's layout, `.npz`), with atomic writes."""

from __future__ import annotations

import contextlib
import os
import pickle
import tempfile

import numpy as np

from .args import as_args
from .dataset import reference_dataset

DATA_KEYS = ("x", "x_test", "y", "y_test", "t")
TEMPLATE_KEYS = ("x", "t", "y")
FORMATS = (".pkl", ".npz")


def check_format(path) -> str:
    ext = os.path.splitext(os.fspath(path))[1].lower()
    if ext not in FORMATS:
        raise ValueError(f"path must end in one of {', '.join(FORMATS)}; got {os.fspath(path)!r}")
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


def _to_numpy(data: dict) -> dict:
    missing = [k for k in DATA_KEYS if k not in data]
    templates = data.get("templates")
    missing += [f"templates[{k!r}]" for k in TEMPLATE_KEYS
                if not isinstance(templates, dict) or k not in templates]
    if missing:
        raise ValueError(f"data is not an MNIST-1D dataset: missing keys {missing}")
    out = {k: np.asarray(data[k]) for k in DATA_KEYS}
    out["templates"] = {k: np.asarray(data["templates"][k]) for k in TEMPLATE_KEYS}
    return out


def save(data: dict, path) -> None:
    """Writes a dataset atomically. `.pkl`: the reference's pickled dict (protocol 3), readable
    by `mnist1d.utils.from_pickle`; `.npz`: the same arrays, templates as `templates_x` etc."""
    ext = check_format(path)
    data = _to_numpy(data)
    with atomic_open(path) as handle:
        if ext == ".pkl":
            pickle.dump(data, handle, protocol=3)
        else:
            templates = {f"templates_{k}": v for k, v in data.pop("templates").items()}
            np.savez(handle, **data, **templates)


def load(path) -> dict:
    """Reads a dataset written by `save` or by the reference. Only load pickles you trust.

    Raises:
      ValueError: the extension is not `.pkl`/`.npz`, or the file is not an MNIST-1D dataset.
      FileNotFoundError: no file at `path`.
    """
    ext = check_format(path)
    try:
        if ext == ".pkl":
            with open(path, "rb") as handle:
                data = pickle.load(handle)
        else:
            with np.load(path, allow_pickle=False) as archive:
                data = {k: archive[k] for k in archive.files}
            data["templates"] = {k: data.pop(f"templates_{k}") for k in TEMPLATE_KEYS
                                 if f"templates_{k}" in data}
    except (pickle.UnpicklingError, EOFError, ValueError, OSError, AttributeError) as error:
        if isinstance(error, FileNotFoundError):
            raise
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
    save(data, path)
    return data
