"""How long `python -m repro.plan table=N` takes for every table and both profiles: the
first plan after conf/ changed (a cold composition cache: Hydra composes each group set)
and the plans after it (the group sets read back from disk), n runs each.

    .venv/bin/python scripts/benchmark_plan.py [n]      # default n=3

Prints one row per table and profile: cold and warm wall time (median, min-max).
"""
from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from repro.table.spec import available_tables  # noqa: E402


def _time(table: str, profile: str, cache: str) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "repro.plan", f"table={table}", f"profile={profile}"],
                   cwd=ROOT, check=True, stdout=subprocess.DEVNULL,
                   env={**os.environ, "REPRO_CACHE_DIR": cache})
    return time.perf_counter() - start


def _show(xs: list[float]) -> str:
    return f"{statistics.median(xs):.2f} s ({min(xs):.2f}-{max(xs):.2f})"


def main(n: int) -> None:
    print(f"| table | profile | cold (n={n}) | warm (n={n}) |\n|---|---|---|---|")
    for profile in ("smoke", "paper"):
        for table in available_tables():
            cold, warm = [], []
            for _ in range(n):
                with tempfile.TemporaryDirectory() as cache:
                    cold.append(_time(table, profile, cache))
                    warm.append(_time(table, profile, cache))
            print(f"| {table} | {profile} | {_show(cold)} | {_show(warm)} |", flush=True)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 3)
