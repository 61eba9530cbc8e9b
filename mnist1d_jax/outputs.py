"""Where files may be read and written, and how they are written: the one boundary that every
entry point that touches the filesystem (`save`, `load`, the folder writer, `plot`, `export`,
`verify`, `compat`) passes.

- Reading (`check_input`): something must exist at the path, and be a regular file or a folder;
  a FIFO, device or socket is refused before it is opened (opening a FIFO blocks).
- Writing (`check_output`), before anything is generated: the working directory and its parents,
  the home folder and filesystem roots are refused whether or not they exist as earlier output;
  the output's folder must exist and be writable; and an existing output is replaced only if it
  is output of the requested kind, which this package's readers recognise (see `KINDS`). Symbolic
  links and non-regular files are never replaced.
- Writes are atomic (`atomic_open`, `atomic_folder`): a temporary beside the target, renamed at
  the end. Temporaries are named `.NAME.PID-TOKEN.mnist1d-jax-tmp`; one left by a killed process
  is removed by the next write to the same path. Files and folders get the permissions `open()`
  and `mkdir()` give under the user's umask. Errors name the path the user gave.
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

TEMP_MARK = ".mnist1d-jax-tmp"
FOLDER_META = "mnist1d_jax.json"
FOLDER_FORMAT = "mnist1d-jax dataset folder"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
EXPORT_CARD = "README.md"
EXPORT_MARK = "Written by `mnist1d-jax export`."
EXPORT_SPLITS = {split: os.path.join("data", f"{split}-00000-of-00001.parquet")
                 for split in ("train", "test")}
"""The files of a parquet export (Hugging Face's layout): split name -> path inside the folder."""

REPRODUCTION_RESULTS = "results.json"
REPRODUCTION_FORMAT = "mnist1d-jax reproduce"
REPRODUCTION_LOCK = ".mnist1d-jax.lock"
REPRODUCTION_FILES = re.compile(r"report\.md|results\.json|[a-z][a-z-]*\.png|\.mnist1d-jax\.lock")
"""What a `mnist1d-jax reproduce` folder holds: its report, its results (marked with
`REPRODUCTION_FORMAT`), one figure per experiment and the lock file of its runs."""
REPRODUCTION_MARK = re.compile(rb'\{\s*"format":\s*"mnist1d-jax reproduce"')
"""How every `results.json` of this package begins (its first key is the format mark)."""
MAX_RESULTS_BYTES = 8 << 20
"""The largest `results.json` read (a full reproduction writes about 0.5 MB)."""

PICKLE_MARK = "written by mnist1d_jax.compat.to_pickle"
"""Ownership of a pickle: pushed and popped right after the protocol header (`marked_pickle`), so
that every unpickler, the reference's plain `pickle.load` included, reads the same value."""

KINDS = {
    ".pkl": "an MNIST-1D dataset .pkl file (one that `load` reads)",
    ".npz": "an MNIST-1D dataset .npz file (one that `load` reads)",
    "folder": f"a dataset folder of this package (its {FOLDER_META} and nothing else)",
    ".png": "a PNG image",
    "parquet": "an earlier `mnist1d-jax export` folder (its dataset card and two parquet files)",
    "pickle": "a pickle written by `compat.to_pickle` (`PICKLE_MARK`), or a dataset .pkl",
    "reproduction": "an earlier `mnist1d-jax reproduce` folder (its report.md, results.json and "
                    "figures), or an empty folder; files in it are replaced one by one",
}
"""The kinds of output, and what an existing path must be to be replaced by one."""


def check_input(path) -> str:
    """`path` as a string, after checking that a regular file or a folder is there.

    Raises:
      FileNotFoundError: nothing there. ValueError: a FIFO, device, socket or other special file.
    """
    given = os.fspath(path)
    try:
        mode = os.stat(given).st_mode
    except FileNotFoundError:
        raise FileNotFoundError(errno.ENOENT, f"no dataset at {given!r}") from None
    if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
        raise ValueError(f"{given!r} is not a regular file or a folder")
    return given


def read_regular(path, limit: int, what: str = "file") -> bytes:
    """The bytes of the regular file at `path`, at most `limit` of them, checked before and after
    opening: a symbolic link, FIFO, device or socket is refused without being read (a FIFO would
    block, `/dev/zero` never end), and so is a file larger than `limit`.

    Raises:
      FileNotFoundError: nothing there. ValueError: not a regular file, or too large (naming
        `path` and `what` it should be).
    """
    given = os.fspath(path)
    try:
        mode = os.lstat(given).st_mode
    except FileNotFoundError:
        raise FileNotFoundError(errno.ENOENT, f"no {what} at {given!r}") from None
    if not stat.S_ISREG(mode):
        raise ValueError(f"{given!r} is not a regular file (a {what} must be one)")
    # O_NONBLOCK and O_NOFOLLOW: a FIFO or link put there since the check neither blocks nor leads
    # elsewhere; the open file itself is checked again
    fd = os.open(given, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOFOLLOW", 0))
    with os.fdopen(fd, "rb") as handle:
        opened = os.fstat(handle.fileno())
        if not stat.S_ISREG(opened.st_mode):
            raise ValueError(f"{given!r} is not a regular file (a {what} must be one)")
        if opened.st_size > limit:
            raise ValueError(f"{given!r} holds {opened.st_size:,} bytes, more than a {what} may "
                             f"({limit:,})")
        content = handle.read(limit + 1)
    if len(content) > limit:
        raise ValueError(f"{given!r} holds more than {limit:,} bytes, more than a {what} may")
    return content


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


def _our_folder(target: str) -> str:
    """Why the folder `target` is not a dataset folder of this package ("" if it is one)."""
    try:
        with open(os.path.join(target, FOLDER_META)) as handle:
            meta = json.load(handle)
    except (OSError, ValueError):
        return f"it has no readable {FOLDER_META}, so this package did not write it"
    if not isinstance(meta, dict) or meta.get("format") != FOLDER_FORMAT:
        return f"its {FOLDER_META} is not this package's"
    from .files import FOLDER_FILES

    others = sorted(set(os.listdir(target)) - FOLDER_FILES)
    return f"it holds files this package did not write: {others[:5]}" if others else ""


def _our_export(target: str) -> str:
    """Why the folder `target` is not an earlier parquet export ("" if it is one). Looks at two
    levels only, so that a large tree is refused at once."""
    data = os.path.join(target, "data")
    expected = sorted(os.path.basename(f) for f in EXPORT_SPLITS.values())
    if (sorted(os.listdir(target)) != sorted([EXPORT_CARD, "data"]) or not os.path.isdir(data)
            or os.path.islink(data) or sorted(os.listdir(data)) != expected):
        return "it is not an earlier mnist1d-jax export (choose a new folder)"
    with open(os.path.join(target, EXPORT_CARD), encoding="utf-8", errors="replace") as handle:
        if EXPORT_MARK not in handle.read(1 << 16):
            return "its dataset card was not written by mnist1d-jax export"
    return ""


def _our_reproduction(target: str) -> str:
    """Why the folder `target` is not an earlier reproduction ("" if it is one, or empty). Every
    entry is checked to be a regular file before any is opened."""
    names = [n for n in os.listdir(target) if not n.endswith(TEMP_MARK)]
    others = sorted(n for n in names if not REPRODUCTION_FILES.fullmatch(n))
    if others:
        return f"it holds files mnist1d-jax reproduce did not write: {others[:5]}"
    for name in names:
        if not stat.S_ISREG(os.lstat(os.path.join(target, name)).st_mode):
            return f"{name} in it is not a regular file"
    if set(names) <= {REPRODUCTION_LOCK}:  # empty, or a run stopped before its first result
        return ""
    try:
        head = read_regular(os.path.join(target, REPRODUCTION_RESULTS), MAX_RESULTS_BYTES,
                            "results file")[:200]
    except (OSError, ValueError):
        return (f"it has no readable {REPRODUCTION_RESULTS}, so mnist1d-jax reproduce did not "
                f"write it")
    if not REPRODUCTION_MARK.match(head):  # its store reads and validates the rest
        return f"its {REPRODUCTION_RESULTS} was not written by mnist1d-jax reproduce"
    for name in names:
        if name.endswith(".png") and _our_file(os.path.join(target, name), ".png"):
            return f"{name} in it is not a PNG file"
    return ""


def _our_file(target: str, kind: str) -> str:
    """Why the regular file `target` is not output of `kind` ("" if it is)."""
    if kind == ".png":
        with open(target, "rb") as handle:
            return "" if handle.read(len(PNG_SIGNATURE)) == PNG_SIGNATURE else \
                "it is not a PNG file"
    if kind == "pickle":
        prefix = _mark_prefix()
        with open(target, "rb") as handle:
            if handle.read(len(prefix)) == prefix:
                return ""
    from .files import load

    try:
        load(target, ".pkl" if kind == "pickle" else kind)
    except ValueError:
        return ("it was not written by compat.to_pickle, nor is it an MNIST-1D dataset"
                if kind == "pickle" else f"it is not an MNIST-1D dataset {kind} file")
    return ""


def _mark_prefix() -> bytes:
    """Protocol 3's header, then `PICKLE_MARK` pushed (BINUNICODE) and popped (POP)."""
    mark = PICKLE_MARK.encode()
    return b"\x80\x03X" + len(mark).to_bytes(4, "little") + mark + b"0"


def marked_pickle(value) -> bytes:
    """`pickle.dumps(value, protocol=3)` carrying `PICKLE_MARK`: the same value for any reader."""
    body = pickle.dumps(value, protocol=3)
    return _mark_prefix() + body[2:]


def _replaceable(given: str, target: str, kind: str) -> None:
    """Raises `ValueError` unless the existing `target` is output of the requested `kind`."""
    mode = os.lstat(target).st_mode
    if stat.S_ISLNK(mode):
        why = "it is a symbolic link"
    elif kind in ("folder", "parquet", "reproduction"):
        if not stat.S_ISDIR(mode):
            why = "it is not a folder" + (" (a path without extension is written as a folder "
                                          "of .npy files)" if kind == "folder" else "")
        else:
            why = {"folder": _our_folder, "parquet": _our_export,
                   "reproduction": _our_reproduction}[kind](target)
    elif stat.S_ISDIR(mode):
        why = "it is a folder"
    elif not stat.S_ISREG(mode):
        why = "it is not a regular file"
    else:
        why = _our_file(target, kind)
    if why:
        raise ValueError(f"refusing to replace {given!r}: {why}")


def check_output(path, kind: str) -> None:
    """Checks, before anything is generated, that `path` may be written as `kind` (a key of
    `KINDS`).

    Raises:
      ValueError: the path is protected, its folder is missing, or something other than output
        of `kind` stands there (see the module docstring).
      PermissionError: its folder is not writable.
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {sorted(KINDS)}; got {kind!r}")
    given = os.fspath(path)
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

    An existing folder at `path` (checked by `check_output`) is moved aside and deleted only after
    the new folder is in place. The folder gets the permissions `mkdir()` gives under the umask.
    On any exception the temporary folder is removed and `path` is untouched; `OSError`s name
    `path`.
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
