"""Is a file the published MNIST-1D dataset? Per array: the SHA-256 of its bytes in a canonical
dtype and layout (little-endian float64 or int64, C order) against the digests of the published
`mnist1d_data.pkl` recorded here, and, where a digest differs, the largest absolute difference from
the exact rebuild (`reference_dataset()`).

Three verdicts (`verdict`): `"identical"` (every array has the published bytes: bit for bit),
`"within"` (some arrays differ in their last bits but every one is surely within the tolerance of
the published values) and `"differs"`. A rebuild, ours or the reference package's own, is the
second kind: both differ from the published file in the last bit of `x` and `x_test` (floating
point summation order), so "bit for bit" is attainable only by the published file itself."""

from __future__ import annotations

import hashlib
import numbers
from typing import Any

import numpy as np

from .files import load

PUBLISHED = {  # name: (canonical dtype, shape, SHA-256 of the canonical bytes)
    "x": ("<f8", (4000, 40), "76a0fc450d42c1bab3e99da3327c7735feb09f5236bec6fbaeaa1b9a41195252"),
    "x_test": ("<f8", (1000, 40),
               "546e12e851d831f762b6daf43956bc62fe233620cdec483f8789359f94c842d9"),
    "y": ("<i8", (4000,), "d97dc7aecec8ad6b5d8f143ba3e9c4bd7e25c420d7dfc2eb990591cfc0ed3e15"),
    "y_test": ("<i8", (1000,), "8de99be3ff9dab15ae0dc072c3d6ced7cf6b33d365888ce4a386fc944489452c"),
    "t": ("<f8", (40,), "84b830bf54825bb3e0bc2f4152a3ec900578a3494e3ff53f1b3c7adacb69620b"),
    "templates_x": ("<f8", (10, 12),
                    "9a9af77384d2dd8a49699d4b38acd88ca1ebe36d21c0544a046e236f7e5c6872"),
    "templates_t": ("<f8", (12,),
                    "6d4deb0533705109beb1111e23f335af5e3bfb23a087410ae48479b36dde9f29"),
    "templates_y": ("<i8", (10,),
                    "23c379d6c0f22ef64cdef873fd530df1f1419b4a3935e9323d5f1d82ca697b6a"),
}
"""The published file (sha256 e95257676e9fb045...6aa5 of greydanus/mnist1d's mnist1d_data.pkl)."""

REBUILD_TOLERANCE = 1e-14
"""A bound on the rebuild's distance from the published values (tested against the published
file, with XLA's CPU code limited to AVX2 and without)."""

DEFAULT_TOLERANCE = 1e-12
"""The tolerance `verify` accepts by default: well above the last bit of float64 values of order 1
(2.2e-16), far below any change of the data."""


def digest(array, dtype: str) -> str:
    """SHA-256 (hex) of `array`'s values as `dtype`, C order."""
    values = np.ascontiguousarray(np.asarray(array), dtype=dtype)
    return hashlib.sha256(values.tobytes()).hexdigest()


def check_tolerance(tolerance) -> float:
    """`tolerance` as a float: a real number (Python or NumPy; not a bool), finite and >= 0."""
    if (isinstance(tolerance, (bool, np.bool_)) or not isinstance(tolerance, numbers.Real)
            or not 0 <= float(tolerance) < float("inf")):
        raise ValueError(f"tolerance must be a finite real number >= 0; got {tolerance!r}")
    return float(tolerance)


def _arrays(data: dict) -> dict:
    return {**{k: data[k] for k in ("x", "x_test", "y", "y_test", "t")},
            **{f"templates_{k}": data["templates"][k] for k in ("x", "t", "y")}}


def verify(path, tolerance: float = DEFAULT_TOLERANCE) -> dict:
    """Compares the dataset at `path` (any format `load` reads) with the published one.

    Args:
      path: a `.pkl`, `.npz` or folder.
      tolerance: the largest absolute difference from the published values accepted; 0 accepts
        the published bytes only.

    Returns:
      `{name: {"shape", "sha256", "identical", "max_abs_diff", "match"}}` per array (`x`, `x_test`,
      `y`, `y_test`, `t`, `templates_x`, `templates_t`, `templates_y`): `identical` when the
      digest is the published one; `max_abs_diff` from the exact rebuild where it is not (0.0
      where identical, None where the shapes differ; the rebuild is itself within
      `REBUILD_TOLERANCE` of the published values); `match` when identical, or surely within
      `tolerance` of the published values (`max_abs_diff + REBUILD_TOLERANCE <= tolerance`).
      Use `verdict(report)` for the whole file's.

    Raises:
      ValueError: `path` is not a readable MNIST-1D dataset, or `tolerance` is not a finite real
        number >= 0. FileNotFoundError: nothing there.
    """
    tolerance = check_tolerance(tolerance)
    arrays = _arrays(load(path))
    rebuilt = None
    report = {}
    for name, (dtype, shape, published) in PUBLISHED.items():
        array = np.asarray(arrays[name])
        entry: dict[str, Any] = {"shape": array.shape, "sha256": digest(array, dtype)}
        entry["identical"] = entry["shape"] == shape and entry["sha256"] == published
        entry["max_abs_diff"] = 0.0 if entry["identical"] else None
        if not entry["identical"] and array.shape == shape:
            if rebuilt is None:
                from .reference import reference_dataset
                rebuilt = _arrays(reference_dataset())
            entry["max_abs_diff"] = float(np.max(np.abs(
                array.astype(np.float64) - np.asarray(rebuilt[name], np.float64)), initial=0.0))
        entry["match"] = entry["identical"] or (  # within `tolerance` of the published values
            entry["max_abs_diff"] is not None
            and entry["max_abs_diff"] + REBUILD_TOLERANCE <= tolerance)
        report[name] = entry
    return report


def verdict(report: dict) -> str:
    """`"identical"` (bit for bit), `"within"` (the tolerance) or `"differs"`, for a report of
    `verify`."""
    if all(entry["identical"] for entry in report.values()):
        return "identical"
    return "within" if all(entry["match"] for entry in report.values()) else "differs"


def _array_line(entry: dict, tolerance: float) -> str:
    """What one array of a `verify` report is, in words: one verdict against the one tolerance,
    with the bound on its distance from the published values (its distance from the exact
    rebuild plus `REBUILD_TOLERANCE`)."""
    if entry["identical"]:
        return "identical"
    if entry["max_abs_diff"] is None:
        return "differs: not the published shape"
    bound = entry["max_abs_diff"] + REBUILD_TOLERANCE
    if entry["match"]:
        return f"within {tolerance:g}: at most {bound:.3g} from the published values"
    return f"differs: up to {bound:.3g} from the published values, more than {tolerance:g}"


def describe(report: dict, path, tolerance: float) -> tuple[list[str], bool]:
    """What `mnist1d-jax verify` prints for a `verify` report: a line per array (its shape, the
    start of its digest, what it is) and a verdict line; and whether the file matches."""
    lines = []
    for name, entry in report.items():
        shape = "x".join(map(str, entry["shape"])) or "scalar"
        lines.append(f"{name:12s} {shape:>8s}  sha256 {entry['sha256'][:16]}  "
                     f"{_array_line(entry, tolerance)}")
    kind = verdict(report)
    if kind == "identical":
        lines.append(f"{path}: the published MNIST-1D dataset, bit for bit")
    elif kind == "within":
        inexact = [name for name, entry in report.items() if not entry["identical"]]
        lines.append(f"{path}: the published MNIST-1D dataset within {tolerance:g} (not bit for "
                     f"bit: {', '.join(inexact)}, as any rebuild, the reference package's own "
                     f"included)")
    else:
        failed = [name for name, entry in report.items() if not entry["match"]]
        lines.append(f"{path}: not the published MNIST-1D dataset ({len(failed)} of "
                     f"{len(report)} arrays differ: {', '.join(failed)})")
    return lines, kind != "differs"
