"""Issue 6: submitting Table 1 (120 cells) to SLURM takes one sbatch and at most 10 s.

    .venv/bin/python scripts/benchmark_slurm_submit.py [--repeats 3]   # exits 1 above 10 s

Against the cluster in $SLURM_CONF, or else a one-node SLURM started for the run
(tests/slurm_cluster.py; root, Debian's slurm-wlm and munge). Each repeat times the
whole command a user types, `python -m repro table=1 -m hydra/launcher=slurm
report=false` with fresh run folders, submitting the jobs held (sbatch --hold) so that
none starts, then counts the arrays SLURM received and cancels them.
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))


def submit_once(env: dict) -> tuple[float, list[str], int]:
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, "-m", "repro", "table=1", "-m", "hydra/launcher=slurm",
               "report=false", "+hydra.launcher.additional_parameters.hold=true",
               f"sweeps_root={tmp}/sweeps", f"results_root={tmp}/results"]
        t0 = time.perf_counter()
        out = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
        seconds = time.perf_counter() - t0
        said = out.stdout + out.stderr
        if out.returncode != 0:
            sys.exit(said[-3000:])
        arrays = re.findall(r"submitted \d+ cell\(s\) as SLURM job(?: array)? (\d+)", said)
        tasks = subprocess.run(["squeue", "-h", "-r", "-j", ",".join(arrays), "-o", "%i"],
                               env=env, capture_output=True, text=True).stdout.split()
        subprocess.run(["scancel", *arrays], env=env, check=True)
        return seconds, arrays, len(tasks)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    cluster = None
    if not os.environ.get("SLURM_CONF"):
        from slurm_cluster import LocalSlurm, missing

        if missing():
            sys.exit(missing())
        cluster = LocalSlurm().start()
    env = {**os.environ, **(cluster.env if cluster else {})}
    try:
        runs = [submit_once(env) for _ in range(args.repeats)]
    finally:
        if cluster:
            cluster.stop()
            shutil.rmtree(cluster.root, ignore_errors=True)
    for seconds, arrays, tasks in runs:
        print(f"{seconds:.2f} s, {len(arrays)} sbatch call(s) (array {', '.join(arrays)}), "
              f"{tasks} array tasks")
    median = statistics.median(s for s, _, _ in runs)
    print(f"median {median:.2f} s for 120 cells")
    return 0 if median <= 10 and all(len(a) == 1 and t == 120 for _, a, t in runs) else 1


if __name__ == "__main__":
    sys.exit(main())
