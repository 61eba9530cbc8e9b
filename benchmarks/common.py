"""Shared helpers for the benchmark scripts: timing, machine description, JSON output."""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time

import jax


def median_time(fn, repeats: int = 7, warmup: int = 1) -> float:
    """Median wall time in seconds of `fn()`; outputs are blocked on (JAX is asynchronous)."""
    for _ in range(warmup):
        jax.block_until_ready(fn())
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        jax.block_until_ready(fn())
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def machine() -> dict:
    """What the figures were measured on."""
    device = jax.devices()[0]
    return {"platform": device.platform, "device": device.device_kind,
            "device_count": jax.device_count(), "cpu_count": os.cpu_count(),
            "python": platform.python_version(), "jax": jax.__version__}


def json_path(value: str) -> str:
    """argparse type for `--json PATH`: the folder must exist (checked before any work)."""
    folder = os.path.dirname(os.path.abspath(value))
    if not os.path.isdir(folder):
        raise argparse.ArgumentTypeError(f"folder {folder!r} for the JSON output does not exist")
    return value


def parse_counts(doc: str, argv=None, **defaults: int) -> argparse.Namespace:
    """Command-line options of a benchmark: one `--NAME N` integer per keyword (with its
    default) and `--json PATH`."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    for name, default in defaults.items():
        parser.add_argument(f"--{name}", type=int, default=default)
    parser.add_argument("--json", type=json_path, help="write the results to this file")
    return parser.parse_args(argv)


def write_json(path, payload: dict) -> None:
    """Writes `payload` (plus the machine description) as indented JSON, atomically."""
    from mnist1d_jax.outputs import atomic_open

    with atomic_open(path, "w") as handle:
        json.dump({**payload, "machine": machine()}, handle, indent=2)
        handle.write("\n")


def print_table(rows: list[tuple], header: tuple) -> None:
    """Prints a fixed-width table."""
    widths = [max(len(str(r[i])) for r in (header, *rows)) for i in range(len(header))]
    for row in (header, tuple("-" * w for w in widths), *rows):
        print("  ".join(str(c).rjust(w) for c, w in zip(row, widths)))


def report_against_reference(work: str, ours_s: float, theirs_s: float, results: dict,
                             json_file=None) -> dict:
    """Prints one row (work, our seconds, the reference loop's, the ratio) and writes `results`
    to `json_file` when given; returns `results`."""
    print_table([(work, f"{ours_s:.1f} s", f"{theirs_s:.1f} s", f"{theirs_s / ours_s:.1f}x")],
                header=("work", "mnist1d_jax (compiled)", "reference loop", "speed-up"))
    if json_file:
        write_json(json_file, results)
    return results
