"""The noise benchmark (issue 11): how much a table's reference cells move from seed to
seed, and from a rounding-sized perturbation, against the smoke targets.

    .venv/bin/python scripts/benchmark_noise.py                  # Table 1, 5 seeds
    .venv/bin/python scripts/benchmark_noise.py --table 2 --seeds 3
    .venv/bin/python scripts/benchmark_noise.py -- profile.iters=300   # a variant
    .venv/bin/python scripts/benchmark_noise.py --profile smoke-3x     # another profile

Runs, with the real sweep (python -m repro), in fresh folders under --root:
1. the table's noise cells (its reference cells, repro/table/spec.py) with seeds
   0..N-1: the std over seeds per column;
2. seed 0 again with every initial weight moved by one float32 ulp (perturb_init=true);
3. seed 0 again with two torch threads instead of one (another summation order);
4. with --test-split N, every seed's final weights (keep_weights=true) evaluated again on
   a fresh N-image test split from the same generator: the std over seeds at N beside
   the std at the dataset's own test split tells the test split's share of the spread
   from training's (the rest).
Prints one line per column, writes <root>/summary.json, and exits 1 when a column's std
or a rounding difference exceeds the target: 1.0 points for mAP (VOC), 0.5 for AP (COCO).
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from repro.core.paths import CONF_DIR, run_dir  # noqa: E402
from repro.report.collect import collect  # noqa: E402
from repro.table.spec import load_table  # noqa: E402

TARGETS = {"mAP": 1.0, "AP": 0.5}  # points, issue 11: VOC columns / COCO columns


def sweep(table: str, profile: str, cells: list[str], root: Path, extra: list[str],
          jobs: int) -> float:
    cmd = [sys.executable, "-m", "repro", f"table={table}", "-m", f"profile={profile}",
           "cells=[" + ",".join(cells) + "]", f"sweeps_root={root}", "report=false",
           f"hydra.launcher.n_jobs={jobs}", *extra]
    start = time.perf_counter()
    with open(root.with_suffix(".log"), "w") as log:
        done = subprocess.run(cmd, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    if done.returncode:
        lines = root.with_suffix(".log").read_text().strip().splitlines() or [""]
        raise SystemExit(f"the sweep exited {done.returncode} ({root.with_suffix('.log')}): "
                         f"{lines[-1]}")
    return time.perf_counter() - start


def values(spec, profile: str, root: Path) -> tuple[dict, dict]:
    """Per (row, column): {seed: value, or the state and reason}; and the metric each
    cell's records name (mAP, AP: the dataset's, conf/dataset/)."""
    frame = collect(spec, profile=profile, sweeps_root=root)
    out: dict = {}
    metrics: dict = {}
    for r in frame.itertuples():
        out.setdefault((r.row, r.column), {})[int(r.seed)] = (
            r.value if r.state == "done" else f"{r.state}:{r.reason}")
        if isinstance(r.metric, str):
            metrics[(r.row, r.column)] = r.metric
    return out, metrics


def on_test_split(spec, profile: str, cells, root: Path, n: int) -> dict:
    """Per (row, column): {seed: value} of each seed's kept weights on a fresh n-image
    test split (point 4), drawn with another generator seed than the dataset's own."""
    from omegaconf import OmegaConf

    from repro.data.synthetic import SPECS, write_test_split
    from repro.job.evaluate_weights import evaluate_weights

    out: dict = {}
    for c in cells:
        for seed in range(10_000):
            rd = run_dir(root / "seeds", profile, spec.id, c.id, seed)
            if not (rd / "weights.pth").exists():
                break
            family = OmegaConf.load(rd / "config.yaml").dataset.family
            split = write_test_split(family, n, root / f"test-split-{n}",
                                     seed=SPECS[family].seed + 1000)
            out.setdefault((c.row.id, c.column.id), {})[seed] = evaluate_weights(
                rd, split.parent, root / "evaluate" / c.id / f"seed{seed}")
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--table", default="1")
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--profile", default="smoke",
                    help="a synthetic profile of conf/profile/ (its file and name agree)")
    ap.add_argument("--root", type=Path, default=None)
    ap.add_argument("--jobs", type=int, default=2, help="local workers (2 on 2 cores)")
    ap.add_argument("--no-rounding", action="store_true", help="skip points 2 and 3")
    ap.add_argument("--columns", default="", help="comma-separated column ids (default all)")
    ap.add_argument("--test-split", type=int, default=0, metavar="N",
                    help="also evaluate every seed's weights on a fresh N-image test split")
    ap.add_argument("extra", nargs="*", help="overrides for every run, after --")
    a = ap.parse_args()
    if a.seeds < 2:
        print(f"--seeds {a.seeds}: a std needs at least 2 seeds (e.g. --seeds 5)", file=sys.stderr)
        return 2
    if a.test_split < 0:
        print(f"--test-split {a.test_split}: give a number of test images (e.g. 2304), or "
              f"leave it out", file=sys.stderr)
        return 2
    profiles = sorted(f.stem for f in (CONF_DIR / "profile").glob("*.yaml"))
    if a.profile not in profiles:
        print(f"--profile {a.profile}: no conf/profile/{a.profile}.yaml; give one of "
              f"{', '.join(profiles)} (a synthetic one: this benchmark trains here)",
              file=sys.stderr)
        return 2
    spec = load_table(a.table)
    cols = [c for c in a.columns.split(",") if c]
    cells = [c for c in spec.noise_cells() if not cols or c.column.id in cols]
    if not cells:
        print(f"table {a.table} has no noise cells (references or noise_rows)", file=sys.stderr)
        return 2
    ids = [c.id for c in cells]
    root = a.root or Path(tempfile.mkdtemp(prefix="repro-noise-"))
    root.mkdir(parents=True, exist_ok=True)
    keep = ["keep_weights=true"] if a.test_split else []
    runs = {"seeds": (["seeds=%d" % a.seeds, "noise_seeds=1", *keep], a.jobs)}
    if not a.no_rounding:
        runs["ulp"] = (["seeds=1", "noise_seeds=1", "perturb_init=true"], a.jobs)
        # Two threads, one worker: the same arithmetic in another summation order.
        runs["threads"] = (["seeds=1", "noise_seeds=1", "profile.threads=2"], 1)
    seconds, found = {}, {}
    for name, (over, jobs) in runs.items():
        seconds[name] = sweep(a.table, a.profile, ids, root / name, [*over, *a.extra], jobs)
        found[name], metric = values(spec, a.profile, root / name)
    if a.test_split:
        found["split"] = on_test_split(spec, a.profile, cells, root, a.test_split)
    failed, lines = False, []
    summary = {"table": a.table, "profile": a.profile, "seeds": a.seeds, "extra": a.extra, "seconds": seconds,
               "cells": {}}
    print(f"table {a.table}, profile {a.profile}, {len(cells)} noise cells, seeds 0..{a.seeds - 1}, "
          f"overrides {a.extra or '-'}; {seconds['seeds']:.0f} s for the seeds")
    print(f"{'cell':<34} {'metric':>6} {'mean':>7} {'std':>6} {'target':>6} "
          f"{'ulp Δ':>7} {'thr Δ':>7}"
          + (f" {'std@' + str(a.test_split):>9}" if a.test_split else "") + "  per seed")

    def spread(per_seed: dict) -> tuple[float, float]:
        nums = [v for _, v in sorted(per_seed.items()) if isinstance(v, float)]
        return (statistics.fmean(nums) if nums else float("nan"),
                statistics.stdev(nums) if len(nums) > 1 else float("nan"))

    for c in cells:
        m = metric.get((c.row.id, c.column.id), "?")
        target = TARGETS.get(m, float("nan"))
        per_seed = found["seeds"].get((c.row.id, c.column.id), {})
        mean, std = spread(per_seed)
        split_std = spread(found.get("split", {}).get((c.row.id, c.column.id), {}))[1]
        base = per_seed.get(0)
        deltas = {}
        for name in ("ulp", "threads"):
            v = found.get(name, {}).get((c.row.id, c.column.id), {}).get(0)
            deltas[name] = abs(v - base) if isinstance(v, float) and isinstance(base, float) \
                else float("nan")
        bad = not (std <= target) or any(not (d <= target) for k, d in deltas.items()
                                          if k in found)
        failed |= bad
        shown = " ".join(f"{v:.2f}" if isinstance(v, float) else str(v)
                         for _, v in sorted(per_seed.items()))
        lines.append(f"{c.id:<34} {m:>6} {mean:7.2f} {std:6.2f} {target:6.2f} "
                     f"{deltas['ulp']:7.2f} {deltas['threads']:7.2f}"
                     + (f" {split_std:9.2f}" if a.test_split else "") + f"  {shown}"
                     + ("  ABOVE TARGET" if bad else ""))
        summary["cells"][c.id] = {"metric": m, "target": target, "per_seed": per_seed,
                                  "mean": mean, "std": std, **{f"{k}_delta": v
                                                               for k, v in deltas.items()}}
        if a.test_split:
            summary["cells"][c.id].update(
                test_split=a.test_split, std_on_test_split=split_std,
                per_seed_on_test_split=found["split"].get((c.row.id, c.column.id), {}))
    print("\n".join(lines))
    (root / "summary.json").write_text(json.dumps(summary, indent=2, default=str) + "\n")
    print(f"{'FAIL' if failed else 'OK'}: targets std and rounding Δ <= 1.0 mAP (VOC), "
          f"<= 0.5 AP (COCO); records under {root}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
