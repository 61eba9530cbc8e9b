#!/usr/bin/env bash
# The accelerator's figures in one command, on one GPU: the full reproduction (`--no-cache`,
# every experiment recomputed), the stream's throughput and the limits benchmark, written under
# benchmarks/results/ with the suffix given (default "gpu"): reproduce-SUFFIX/ (report, figures,
# results), throughput_SUFFIX.json, limits_SUFFIX.json, and the log gpu_SUFFIX.log.
#
#     bash benchmarks/gpu.sh h200
#
# It needs JAX with its CUDA plugin and the lab and plot extras already installed (it installs
# nothing: the machine may have no network), and stops at once where JAX sees no GPU.
set -euo pipefail
suffix="${1:-gpu}"
cd "$(dirname "$0")/.."
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
results=benchmarks/results
log="$results/gpu_$suffix.log"
python - <<'PY'
import sys

import jax

if jax.default_backend() != "gpu":
    sys.exit(f"benchmarks/gpu.sh: no GPU (JAX's default backend is {jax.default_backend()})")
print("devices:", jax.devices())
PY
{
  start=$(date +%s)
  python -m mnist1d_jax reproduce --no-cache --force --out "$results/reproduce-$suffix"
  echo "reproduction: $(( $(date +%s) - start )) s"
  python benchmarks/throughput.py --json "$results/throughput_$suffix.json"
  python benchmarks/limits.py --results "$results/reproduce-$suffix/results.json" \
    --sizes 1024 2048 4096 8192 --json "$results/limits_$suffix.json"
  echo "all: $(( $(date +%s) - start )) s"
} 2>&1 | tee "$log"
