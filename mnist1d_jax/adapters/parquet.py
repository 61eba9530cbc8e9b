"""A dataset as Hugging Face's parquet layout (`pip install 'mnist1d-jax[parquet]'`): the schema
of the hub's copy `christopher/mnist1d`, splits `train` and `test` in
`OUT/data/{split}-00000-of-00001.parquet`, columns `x` (a list of float64) and `y` (int64), and a
`README.md` dataset card declaring them, so that

    datasets.load_dataset("parquet", data_files={"train": ..., "test": ...})

(or `datasets.load_dataset(OUT)`) reads it, and `.with_format("jax")` gives the arrays back."""

from __future__ import annotations

import os

import numpy as np

from ..extras import require
from ..outputs import Kind, atomic_folder, check_output, register_kind
from ..validate import check_dataset

require("parquet", "mnist1d_jax.adapters.parquet", "pyarrow")

import pyarrow as pa  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402

SPLITS = {"train": ("x", "y"), "test": ("x_test", "y_test")}
EXPORT_CARD = "README.md"
EXPORT_MARK = "Written by `mnist1d-jax export`."
EXPORT_SPLITS = {split: os.path.join("data", f"{split}-00000-of-00001.parquet") for split in SPLITS}
"""The files of a parquet export (Hugging Face's layout): split name -> path inside the folder."""


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


register_kind("parquet", Kind("an earlier `mnist1d-jax export` folder (its dataset card and two "
                              "parquet files)", _our_export, folder=True))


def split_file(split: str) -> str:
    """The path of a split's file inside an export folder."""
    return EXPORT_SPLITS[split]


def table(x, y) -> pa.Table:
    """Columns `x` list<double> (one row per example) and `y` int64, from x (n, F) and y (n,)."""
    x = np.ascontiguousarray(np.asarray(x), dtype=np.float64)
    offsets = np.arange(0, x.size + 1, x.shape[1], dtype=np.int32)
    rows = pa.ListArray.from_arrays(pa.array(offsets), pa.array(x.reshape(-1)))
    return pa.table({"x": rows, "y": pa.array(np.asarray(y, np.int64))})


def _card(counts: dict, width: int, note: str) -> str:
    splits = "".join(f"  - name: {split}\n    num_examples: {n}\n" for split, n in counts.items())
    files = "".join(f"  - split: {split}\n    path: data/{split}-*\n" for split in counts)
    return (f"---\ndataset_info:\n  features:\n  - name: x\n    sequence: float64\n"
            f"  - name: 'y'\n    dtype: int64\n  splits:\n{splits}configs:\n"
            f"- config_name: default\n  data_files:\n{files}license: apache-2.0\n---\n\n"
            f"# MNIST-1D\n\n{EXPORT_MARK} {note}\nEach example is a signal `x` of {width} points "
            f"and its class `y` (0-9).\n")


def export_parquet(data: dict, out, note: str = "") -> dict:
    """Writes `data` (`x`, `y`, `x_test`, `y_test`, as `make_dataset` or `load` give) to the
    folder `out` atomically; `note` goes into the dataset card. Returns {split: file path}."""
    data = check_dataset(data)
    given = os.fspath(out)
    check_output(given, "parquet")
    counts = {split: len(data[y]) for split, (_, y) in SPLITS.items()}
    with atomic_folder(given) as folder:
        os.mkdir(os.path.join(folder, "data"))
        for split, (x, y) in SPLITS.items():
            pq.write_table(table(data[x], data[y]), os.path.join(folder, split_file(split)))
        with open(os.path.join(folder, EXPORT_CARD), "w", encoding="utf-8") as handle:
            handle.write(_card(counts, data["x"].shape[1], note))
    return {split: os.path.join(given, split_file(split)) for split in SPLITS}
