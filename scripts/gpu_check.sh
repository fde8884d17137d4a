#!/usr/bin/env bash
# The GPU check (scripts/gpu_check.py): a paper cell's s/iter and peak memory, with and
# without AMP, mmcv's CUDA ops, a 2-process NCCL run; figures into docs/benchmarks.md.
# At most 8 minutes on a GPU machine (the timeout below enforces it); without a GPU it
# says so and exits 0.
#   bash scripts/gpu_check.sh                              # on a GPU node
#   bash scripts/gpu_check.sh --device cpu --iters 2 --out /tmp/bench.md   # dry run, CPU
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
[ -x "$PY" ] || PY=python3
# The limit, in seconds: 8 minutes (GPU_CHECK_TIMEOUT: longer for a CPU dry run on a busy machine).
limit=${GPU_CHECK_TIMEOUT:-480}
status=0
timeout "$limit" "$PY" scripts/gpu_check.py "$@" || status=$?
if [ "$status" = 124 ]; then
    echo "gpu_check: stopped at its ${limit} s limit (fewer --iters, or a faster GPU)" >&2
fi
exit "$status"
