"""Saving and loading datasets: `.pkl` (the reference's layout), `.npz`, folders of `.npy` files.

What is promised:

- Loading never executes code: pickles go through an unpickler that admits only NumPy arrays,
  dtypes and scalars and Python's plain containers, numbers and strings; `.npz` and `.npy` are
  read with `allow_pickle=False`. Everything loaded is checked (shapes, dtypes, label range,
  recorded arguments against the arrays); a bad file is a `ValueError` naming it and the problem.
- Writing never destroys what this package did not write: an existing output may be replaced
  only if it is a dataset of the requested kind (a file that loads as one, or a folder carrying
  this package's `mnist1d_jax.json` and nothing else). The working directory and its parents, the
  home folder, filesystem roots, symbolic links and non-regular files are never replaced.
- Writes are atomic: a temporary beside the target, renamed at the end. Temporaries are named
  `.NAME.PID-TOKEN.mnist1d-jax-tmp`; one left by a killed process is removed by the next write to
  the same path. Files and folders get the permissions `open()` and `mkdir()` give under the
  user's umask. Errors name the path the user gave, never a temporary.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import pickle
import re
import secrets
import shutil
import stat

import numpy as np

from .args import NUM_CLASSES, as_args

DATA_KEYS = ("x", "x_test", "y", "y_test", "t")
TEMPLATE_KEYS = ("x", "t", "y")
FORMATS = (".pkl", ".npz")
TEMP_MARK = ".mnist1d-jax-tmp"
FOLDER_META = "mnist1d_jax.json"
FOLDER_FORMAT = "mnist1d-jax dataset folder"
FOLDER_FILES = frozenset({f"{k}.npy" for k in DATA_KEYS}
                         | {f"templates_{k}.npy" for k in TEMPLATE_KEYS} | {FOLDER_META})
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


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
# Where output may go


def _protected(target: str) -> bool:
    """The working directory or one of its parents, the home folder, or a mount point (`/`)."""
    real = os.path.realpath(target)
    cwd = os.path.realpath(os.getcwd())
    parents = {cwd}
    while os.path.dirname(cwd) != cwd:
        cwd = os.path.dirname(cwd)
        parents.add(cwd)
    home = os.path.realpath(os.path.expanduser("~"))
    return real in parents or real == home or os.path.ismount(real)


def _is_our_folder(target: str) -> tuple[bool, str]:
    """Whether a folder was written by this package and holds nothing else, and why not."""
    try:
        with open(os.path.join(target, FOLDER_META)) as handle:
            meta = json.load(handle)
    except (OSError, ValueError):
        return False, f"it has no readable {FOLDER_META}, so this package did not write it"
    if not isinstance(meta, dict) or meta.get("format") != FOLDER_FORMAT:
        return False, f"its {FOLDER_META} is not this package's"
    others = sorted(set(os.listdir(target)) - FOLDER_FILES)
    if others:
        return False, f"it holds files this package did not write: {others[:5]}"
    return True, ""


def _replaceable(given: str, target: str, kind: str) -> None:
    """Raises `ValueError` unless the existing `target` is output of the requested `kind`."""
    mode = os.lstat(target).st_mode
    refuse = f"refusing to replace {given!r}: "
    if stat.S_ISLNK(mode):
        raise ValueError(refuse + "it is a symbolic link")
    if kind == "folder":
        if not stat.S_ISDIR(mode):
            raise ValueError(refuse + "it is not a folder (a path without extension is written "
                                      "as a folder of .npy files)")
        ours, why = _is_our_folder(target)
        if not ours:
            raise ValueError(refuse + why)
        return
    if stat.S_ISDIR(mode):
        raise ValueError(refuse + "it is a folder")
    if not stat.S_ISREG(mode):
        raise ValueError(refuse + "it is not a regular file")
    if kind == ".png":
        with open(target, "rb") as handle:
            if handle.read(len(PNG_SIGNATURE)) != PNG_SIGNATURE:
                raise ValueError(refuse + "it is not a PNG file")
        return
    try:
        load(target)
    except ValueError:
        raise ValueError(refuse + f"it is not an MNIST-1D dataset {kind} file") from None


def check_output(path, kind: str | None = None) -> None:
    """Checks, before anything is generated, that `path` may be written as `kind` (`.pkl`,
    `.npz`, `folder` or `.png`; from the extension when `None`).

    Raises:
      ValueError: the path is protected, its folder is missing, or something not written by this
        package stands there (see the module docstring).
      PermissionError: its folder is not writable.
    """
    given = os.fspath(path)
    kind = check_format(given) if kind is None else kind
    target = os.path.abspath(given)
    if _protected(target):
        raise ValueError(f"refusing to write {given!r}: it is the working directory or one of its "
                         "parents, the home folder or a filesystem root")
    parent = os.path.dirname(target)
    if not os.path.isdir(parent):
        raise ValueError(f"cannot write {given!r}: folder {parent!r} does not exist")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise PermissionError(errno.EACCES,
                              f"cannot write {given!r}: folder {parent!r} is not writable")
    if os.path.lexists(target):
        _replaceable(given, target, kind)


# ---------------------------------------------------------------------------------------------
# Atomic writes


def _temporary(target: str, role: str = "") -> str:
    parent, name = os.path.split(target)
    return os.path.join(parent, f".{name}.{os.getpid()}-{secrets.token_hex(4)}{role}{TEMP_MARK}")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, ValueError):
        return True
    return True


def remove_stale_temporaries(path) -> list[str]:
    """Removes the temporaries of earlier writes to `path` whose process no longer runs (a run
    killed with SIGKILL leaves its temporary). Returns the names removed."""
    parent, name = os.path.split(os.path.abspath(os.fspath(path)))
    pattern = re.compile(rf"\.{re.escape(name)}\.(\d+)-[0-9a-f]{{8}}(\.old)?{re.escape(TEMP_MARK)}")
    removed = []
    with contextlib.suppress(OSError):
        for entry in os.scandir(parent):
            match = pattern.fullmatch(entry.name)
            if match is None or _alive(int(match.group(1))):
                continue
            if entry.is_dir(follow_symlinks=False):
                shutil.rmtree(entry.path, ignore_errors=True)
            else:
                with contextlib.suppress(OSError):
                    os.unlink(entry.path)
            removed.append(entry.name)
    return removed


def _named(error: OSError, given: str) -> OSError:
    """`error` re-raised naming the user's path instead of a temporary."""
    return OSError(error.errno, f"could not write {given!r}: "
                                f"{error.strerror or error.__class__.__name__}")


@contextlib.contextmanager
def atomic_open(path, mode: str = "wb"):
    """Opens a temporary file beside `path`; on success it is fsynced and renamed to `path`.

    The file gets the permissions `open()` gives (0666 less the umask). On any exception the
    temporary is removed and an existing file at `path` is untouched; `OSError`s name `path`.
    Callers check the target first (`check_output`).
    """
    given = os.fspath(path)
    target = os.path.abspath(given)
    remove_stale_temporaries(target)
    tmp = _temporary(target)
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    except OSError as error:
        raise _named(error, given) from None
    try:
        with os.fdopen(fd, mode) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException as error:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        if isinstance(error, OSError):
            raise _named(error, given) from None
        raise


@contextlib.contextmanager
def atomic_folder(path):
    """Yields a temporary folder beside `path`; on success it replaces `path`.

    An existing folder at `path` (checked to be this package's by `check_output`) is moved aside
    and deleted only after the new folder is in place. The folder gets the permissions `mkdir()`
    gives under the umask. On any exception the temporary folder is removed and `path` is
    untouched; `OSError`s name `path`.
    """
    given = os.fspath(path)
    target = os.path.abspath(given.rstrip("/") or given)
    remove_stale_temporaries(target)
    tmp = _temporary(target)
    try:
        os.mkdir(tmp, 0o777)
    except OSError as error:
        raise _named(error, given) from None
    try:
        yield tmp
        aside = None
        if os.path.lexists(target):
            aside = _temporary(target, ".old")
            os.replace(target, aside)
        os.replace(tmp, target)
        if aside is not None:
            shutil.rmtree(aside)
    except BaseException as error:
        shutil.rmtree(tmp, ignore_errors=True)
        if isinstance(error, OSError):
            raise _named(error, given) from None
        raise


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
# Restricted unpickling


def _numpy_core():
    try:
        from numpy import _core as core  # NumPy 2
    except ImportError:  # pragma: no cover - NumPy 1
        from numpy import core
    return core


def _reconstruct(cls, shape, dtype):
    """NumPy's `_reconstruct`, for `ndarray` itself and the empty shape its pickles use only."""
    if cls is not np.ndarray or int(np.prod(shape)) > 1:
        raise pickle.UnpicklingError("refusing an array reconstruction that is not NumPy's own")
    return _numpy_core().multiarray._reconstruct(cls, shape, dtype)


def _latin1(text, encoding="latin1"):
    """`_codecs.encode` as pickle protocol 2 uses it for bytes: latin-1 only."""
    if encoding not in ("latin1", "latin-1") or not isinstance(text, str):
        raise pickle.UnpicklingError("refusing a codec other than latin-1")
    return text.encode("latin1")


def _allowed_globals() -> dict:
    core = _numpy_core()
    allowed = {("numpy", "ndarray"): np.ndarray, ("numpy", "dtype"): np.dtype,
               ("_codecs", "encode"): _latin1}
    for module in ("numpy.core", "numpy._core"):
        allowed[(f"{module}.multiarray", "_reconstruct")] = _reconstruct
        allowed[(f"{module}.multiarray", "scalar")] = core.multiarray.scalar
        allowed[(f"{module}.numeric", "_frombuffer")] = core.numeric._frombuffer
    return allowed


class _DatasetUnpickler(pickle.Unpickler):
    """Admits only the globals a dataset pickle needs (NumPy arrays, dtypes and scalars); every
    other global, and so every other object's construction, is refused before it runs."""

    def find_class(self, module, name):
        allowed = _allowed_globals().get((module, name))
        if allowed is None:
            raise pickle.UnpicklingError(
                f"it refers to {module}.{name}; a dataset pickle holds only NumPy arrays, dtypes "
                "and scalars, dicts, lists, tuples, numbers and strings, so it was not loaded")
        return allowed


def safe_unpickle(handle):
    """Reads one pickle from a binary file object with `_DatasetUnpickler`."""
    return _DatasetUnpickler(handle).load()


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


def _read(path, kind: str):
    mode = os.stat(path).st_mode
    if kind == "folder":
        if not stat.S_ISDIR(mode):
            raise ValueError("it is not a folder (a path without extension is read as a folder "
                             "of .npy files)")
        return _read_folder(path)
    if stat.S_ISDIR(mode):
        raise ValueError("it is a folder")
    if kind == ".npz":
        return _read_npz(path)
    with open(path, "rb") as handle:
        return safe_unpickle(handle)


def load(path) -> dict:
    """Reads a dataset written by `save`, `write_dataset` or the reference, safely and checked.

    Pickles are read without executing anything (see the module docstring); folders are opened
    memory-mapped. The result has an `args` dict when the writer recorded one.

    Raises:
      ValueError: an unknown extension, a file that is not a valid MNIST-1D dataset (truncated,
        corrupted, inconsistent, or a pickle that would run code), naming `path` and the problem.
      FileNotFoundError: nothing at `path`.
      OSError: the file could not be read (permissions, I/O errors).
    """
    given = os.fspath(path)
    kind = check_format(given)
    if not os.path.exists(given):
        raise FileNotFoundError(errno.ENOENT, f"no dataset at {given!r}")
    try:
        data = _read(given, kind)
    except OSError:
        raise
    except Exception as error:  # noqa: BLE001 - any parse failure of untrusted bytes
        problem = str(error) or type(error).__name__
        raise ValueError(f"{given!r} is not a readable MNIST-1D dataset: {problem}") from None
    return check_dataset(data, repr(given))
