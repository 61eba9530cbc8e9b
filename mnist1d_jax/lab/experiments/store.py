"""A reproduction folder's results store: the one reader and writer of its `results.json`.

- **Identity.** Each experiment's result is stored under its name with its identity: the size
  it ran at, the settings it changed and the data of its key. A run asking for another identity
  never replaces a stored result silently (`reproduce` refuses it unless forced).
- **Kept.** Entries this version does not read (an experiment it does not know, or a result
  written in a newer layout) are written back untouched.
- **Versions.** Each result records the mnist1d-jax and JAX versions that computed it; the report
  says when a folder mixes them.
- **Lock.** A run holds the folder's lock file (`filelock`, an advisory lock the system releases
  when the process ends, however it ends) from its first read to its last write: a second run
  into the folder is refused at once, never interleaved.
- **Validated, strict, atomic.** `results.json` is read through the file layer that refuses
  links, FIFOs and devices before opening (`outputs.read_regular`), bounded in bytes, and
  validated field by field (`schema`, `Result.from_json`); it is written as strict JSON in UTF-8
  whatever the locale, atomically, as is the report.
"""

from __future__ import annotations

import contextlib
import os
import re
import stat
from collections.abc import Iterator

from ...outputs import (
    TEMP_MARK,
    Kind,
    atomic_open,
    check_output,
    png_problem,
    read_regular,
    register_kind,
)
from . import schema
from .markdown import describe_key, describe_size
from .registry import EXPERIMENTS
from .report import render
from .result import SCHEMA, Result

__all__ = ["FILE_VERSION", "MAX_RESULTS_BYTES", "REPORT", "REPRODUCTION_FILES",
           "REPRODUCTION_FORMAT", "REPRODUCTION_LOCK", "REPRODUCTION_MARK", "REPRODUCTION_RESULTS",
           "Store", "open_store", "read_results"]

REPORT = "report.md"
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
    if not REPRODUCTION_MARK.match(head):  # the store reads and validates the rest
        return f"its {REPRODUCTION_RESULTS} was not written by mnist1d-jax reproduce"
    for name in names:
        if name.endswith(".png") and png_problem(os.path.join(target, name)):
            return f"{name} in it is not a PNG file"
    return ""


register_kind("reproduction", Kind(
    "an earlier `mnist1d-jax reproduce` folder (its report.md, results.json and figures), or an "
    "empty folder; files in it are replaced one by one", _our_reproduction, folder=True))
FILE_VERSION = 2
"""The layout of `results.json`: {"format", "version", "experiments": {name: entry}}; version 1
(no `version` field) held entries without versions and is still read."""


class Store:
    """The results of the reproduction folder `folder`, read under its lock (`open_store`).

    Attributes:
      results: name -> `Result` of every entry this version reads.
      kept: name -> the JSON of every entry it does not read, written back as it was.
      undrawn: name -> why a stored result's figure could not be drawn again (the report says so).
    """

    def __init__(self, folder: str, results: dict, kept: dict):
        self.folder = folder
        self.results = results
        self.kept = kept
        self.undrawn: dict = {}

    def conflict(self, name: str, identity: tuple) -> str:
        """Why a run of `name` of `identity` (`Result.identity`: size, changes, key) would
        replace a stored result of another identity ("" if nothing of another identity is stored
        under `name`)."""
        if name in self.kept:
            return (f"{name} was written by another version of mnist1d-jax, which this one "
                    f"cannot read")
        stored = self.results.get(name)
        if stored is None or stored.identity == identity:
            return ""
        return (f"{name} ran at size {describe_size(stored.size, stored.changes)} from "
                f"{describe_key(stored.key)}")

    def holds(self, name: str, identity: tuple) -> bool:
        """Whether the result of `name` of `identity` is stored."""
        return name in self.results and not self.conflict(name, identity)

    def put(self, result: Result) -> None:
        """Stores `result` under its name (replacing what stood there) and writes the folder."""
        self.kept.pop(result.name, None)
        self.undrawn.pop(result.name, None)
        self.results[result.name] = result
        self.write()

    def write(self) -> None:
        """Writes `results.json`, then the report (each atomically, UTF-8)."""
        entries = {name: result.to_json() for name, result in self.results.items()}
        stored = {"format": REPRODUCTION_FORMAT, "version": FILE_VERSION,
                  "experiments": entries | self.kept}
        _write_text(os.path.join(self.folder, REPRODUCTION_RESULTS), schema.dumps(stored))
        _write_text(os.path.join(self.folder, REPORT),
                    render(self.results, kept=sorted(self.kept), undrawn=self.undrawn))


def _write_text(path: str, text: str) -> None:
    with atomic_open(path) as handle:
        handle.write(text.encode("utf-8"))


def _recognised(name: str, entry) -> bool:
    """Whether this version reads the entry `name`: an experiment it knows, in a layout no newer
    than its own. (A malformed `schema` field counts as recognised, so that reading names it.)"""
    layout = entry.get("schema", 1) if isinstance(entry, dict) else 1
    newer = isinstance(layout, int) and not isinstance(layout, bool) and layout > SCHEMA
    return name in EXPERIMENTS and not newer


def read_results(folder: str) -> tuple[dict, dict]:
    """The results stored in `folder` (name -> `Result`) and the entries kept unread (name ->
    JSON); both empty when it holds no `results.json`.

    Raises:
      ValueError: the file is not a regular file, too large, not strict UTF-8 JSON, or an entry
        fails validation: one line naming the file, the entry and the field.
    """
    path = os.path.join(folder, REPRODUCTION_RESULTS)
    if not os.path.lexists(path):
        return {}, {}
    try:
        stored = schema.fields(schema.loads(read_regular(path, MAX_RESULTS_BYTES,
                                                         "results file")),
                               "the file", ("format", "experiments"), ("version",))
        if stored["format"] != REPRODUCTION_FORMAT:
            raise schema.Invalid(f"its format is not {REPRODUCTION_FORMAT!r}")
        schema.integer(stored.get("version", 1), "version", 1, FILE_VERSION)
        entries = schema.mapping(stored["experiments"], "experiments")
        budget = schema.Budget()
        results, kept = {}, {}
        for name, entry in entries.items():
            if not _recognised(name, entry):
                kept[name] = entry
                continue
            result = Result.from_json(entry, f"entry {name!r}", budget)
            if result.name != name:
                raise schema.Invalid(f"entry {name!r}.name is {result.name!r}")
            results[name] = result
    except schema.Invalid as error:
        raise ValueError(f"{path!r} is damaged: {error}; move it aside or choose another "
                         f"folder") from None
    return results, kept


@contextlib.contextmanager
def open_store(folder) -> Iterator[Store]:
    """The store of the reproduction folder `folder`, held under its lock until the block ends.

    Checks the folder first (`outputs.check_output`, kind "reproduction"), creates it if missing
    (its parent must exist), takes the lock without waiting, then reads and validates.

    Raises:
      ValueError: the folder may not be written, another run holds its lock, or its results are
        damaged (`read_results`).
    """
    from filelock import FileLock, Timeout

    folder = os.fspath(folder)
    check_output(folder, "reproduction")
    if not os.path.isdir(folder):
        os.mkdir(folder)
    lock = FileLock(os.path.join(folder, REPRODUCTION_LOCK), timeout=0)
    try:
        lock.acquire()
    except Timeout:
        raise ValueError(f"another mnist1d-jax reproduce is writing to {folder!r}: wait until it "
                         f"ends, or choose another folder") from None
    try:
        yield Store(folder, *read_results(folder))
    finally:
        lock.release()
