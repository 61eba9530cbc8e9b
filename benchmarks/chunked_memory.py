"""Peak memory of `mnist1d-jax generate --num-samples N --out FOLDER` for growing N.

Each size runs as its own process (the command line, in-process through `cli.main`), which
reports its own peak resident memory (`ru_maxrss`). The baseline is the smallest size, measured
in the same run: the aim is that larger sizes add (almost) nothing to it.

    python benchmarks/chunked_memory.py [--sizes 1000000 10000000 100000000] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

from common import json_path, write_json

CHILD = """
import resource, sys, time
from mnist1d_jax import cli
start = time.perf_counter()
code = cli.main(["generate", "--num-samples", sys.argv[1], "--out", sys.argv[2]])
print("RESULT", time.perf_counter() - start,
      resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, code)
"""


def run(n: int, folder: str) -> dict:
    """Generates `n` examples into `folder` in a new process; its wall time and peak memory."""
    result = subprocess.run([sys.executable, "-c", CHILD, str(n), folder], capture_output=True,
                            text=True, check=True)
    line = [ln for ln in result.stdout.splitlines() if ln.startswith("RESULT")][-1]
    seconds, peak_mb, code = line.split()[1:]
    size = sum(os.path.getsize(os.path.join(folder, f)) for f in os.listdir(folder))
    return {"num_samples": n, "seconds": float(seconds), "per_s": n / float(seconds),
            "peak_rss_mb": float(peak_mb), "exit": int(code), "folder_gb": size / 1e9}


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--dir", default=None, help="where to write (default: a temporary folder)")
    parser.add_argument("--json", type=json_path, default=None)
    options = parser.parse_args(argv)
    root = tempfile.mkdtemp(dir=options.dir, prefix="mnist1d-memory-")
    results = []
    try:
        for n in sorted(options.sizes):
            entry = run(n, os.path.join(root, f"n{n}"))
            shutil.rmtree(os.path.join(root, f"n{n}"))
            results.append(entry)
            base = results[0]["peak_rss_mb"]
            print(f"{n:>12,} examples: {entry['seconds']:7.1f} s ({entry['per_s']:.3g}/s), "
                  f"peak {entry['peak_rss_mb']:.0f} MB ({entry['peak_rss_mb'] - base:+.0f} MB "
                  f"against {results[0]['num_samples']:,}), folder {entry['folder_gb']:.2f} GB",
                  flush=True)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    payload = {"benchmark": "chunked_memory", "results": results, "started": time.time()}
    if options.json:
        write_json(options.json, payload)
    return payload


if __name__ == "__main__":
    json.dumps(main())
