"""How long `python -m repro.plan table=N` takes for every table and both profiles: the
first plan after conf/ changed (a cold composition cache: Hydra composes each group set)
and the plans after it (the group sets read back from disk), n runs each.

    .venv/bin/python scripts/benchmark_plan.py [n] [--warm-only]     # default n=3

Prints one row per table and profile: the cold plan's wall time (one run, a fresh cache;
--warm-only skips it and uses the real cache, ~/.cache/repro/compose), and n warm plans'
wall and CPU time (user + system: less inflated by a contended machine), median
(min-max).
"""
from __future__ import annotations

import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from repro.sweep.compose import cache_dir  # noqa: E402
from repro.table.spec import available_tables  # noqa: E402


def _time(table: str, profile: str, cache: str) -> tuple[float, float]:
    """Wall time and CPU time (user + system) of one plan."""
    before, start = resource.getrusage(resource.RUSAGE_CHILDREN), time.perf_counter()
    subprocess.run([sys.executable, "-m", "repro.plan", f"table={table}", f"profile={profile}"],
                   cwd=ROOT, check=True, stdout=subprocess.DEVNULL,
                   env={**os.environ, "REPRO_CACHE_DIR": cache})
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (time.perf_counter() - start,
            after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)


def _show(xs: list[float]) -> str:
    return f"{statistics.median(xs):.2f} s ({min(xs):.2f}-{max(xs):.2f})"


def main(n: int, warm_only: bool) -> None:
    print(f"| table | profile | cold wall | warm wall | warm CPU |  (n={n} each)\n"
          f"|---|---|---|---|---|")
    for profile in ("smoke", "paper"):
        for table in available_tables():
            cold, warm = [], []
            with tempfile.TemporaryDirectory() as tmp:
                cache = str(cache_dir()) if warm_only else tmp
                first = _time(table, profile, cache)  # cold, or (warm_only) the warm-up
                if not warm_only:
                    cold.append(first[0])
                warm = [_time(table, profile, cache) for _ in range(n)]
            print(f"| {table} | {profile} | {_show(cold) if cold else '-'} | "
                  f"{_show([w for w, _ in warm])} | {_show([c for _, c in warm])} |", flush=True)


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if a != "--warm-only"]
    main(int(args[0]) if args else 3, "--warm-only" in sys.argv)
