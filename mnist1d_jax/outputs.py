"""Where files may be read and written, and how they are written: the one boundary that every
entry point that touches the filesystem (`save`, `load`, the folder writer, `plot`, `export`,
`verify`, `compat`) passes.

- Reading (`check_input`): something must exist at the path, and be a regular file or a folder;
  a FIFO, device or socket is refused before it is opened (opening a FIFO blocks).
- Writing (`check_output`), before anything is generated: the working directory and its parents,
  the home folder and filesystem roots are refused whether or not they exist as earlier output;
  the output's folder must exist and be writable; and an existing output is replaced only if it
  is output of the requested kind, as that kind's owner recognises it. Symbolic links and
  non-regular files are never replaced.
- Kinds of output are registered by the modules that own their formats (`register_kind`): the
  dataset files and folders by `files`, the marked pickle by `compat`, the parquet export by its
  adapter, the reproduction folder by the lab's results store; a PNG image is this module's own.
  This module knows no format beyond that.
- Writes are atomic (`atomic_open`, `atomic_folder`): a temporary beside the target, renamed at
  the end. Temporaries are named `.NAME.PID-TOKEN.mnist1d-jax-tmp`; one left by a killed process
  is removed by the next write to the same path. Files and folders get the permissions `open()`
  and `mkdir()` give under the user's umask. Errors name the path the user gave.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import secrets
import shutil
import stat
from collections.abc import Callable
from typing import NamedTuple

TEMP_MARK = ".mnist1d-jax-tmp"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


class Kind(NamedTuple):
    """A kind of output: what an existing path must be to be replaced by one (`description`),
    whether it is a folder, and its owner's test `why_not_ours(target) -> str`, run on the
    regular file or folder (never a link) at the absolute path `target`: "" when it is output of
    this kind, else why not (one clause, as "it is not a PNG file"). `not_folder` is added to
    "it is not a folder" when a folder kind finds a file."""

    description: str
    why_not_ours: Callable[[str], str]
    folder: bool = False
    not_folder: str = ""


_KINDS: dict[str, Kind] = {}


def register_kind(name: str, kind: Kind) -> None:
    """Makes `name` a kind of output that `check_output` knows (called once, by the module that
    owns the format, when it is imported). Registering a name again replaces its entry."""
    _KINDS[name] = kind


def png_problem(target: str) -> str:
    """Why the regular file `target` is not a PNG image ("" if it is)."""
    with open(target, "rb") as handle:
        return "" if handle.read(len(PNG_SIGNATURE)) == PNG_SIGNATURE else "it is not a PNG file"


register_kind(".png", Kind("a PNG image", png_problem))


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


def _replaceable(given: str, target: str, kind: Kind) -> None:
    """Raises `ValueError` unless the existing `target` is output of `kind`."""
    mode = os.lstat(target).st_mode
    if stat.S_ISLNK(mode):
        why = "it is a symbolic link"
    elif kind.folder:
        why = kind.why_not_ours(target) if stat.S_ISDIR(mode) else \
            "it is not a folder" + kind.not_folder
    elif stat.S_ISDIR(mode):
        why = "it is a folder"
    elif not stat.S_ISREG(mode):
        why = "it is not a regular file"
    else:
        why = kind.why_not_ours(target)
    if why:
        raise ValueError(f"refusing to replace {given!r}: {why}")


def check_output(path, kind: str) -> None:
    """Checks, before anything is generated, that `path` may be written as `kind` (a name
    registered by `register_kind`).

    Raises:
      ValueError: the path is protected, its folder is missing, or something other than output
        of `kind` stands there (see the module docstring).
      PermissionError: its folder is not writable.
    """
    if kind not in _KINDS:
        raise ValueError(f"kind must be one of {sorted(_KINDS)}; got {kind!r}")
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
        _replaceable(given, target, _KINDS[kind])


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
