"""How long the report takes on a big sweep: 10,000 synthetic run records.

    .venv/bin/python scripts/benchmark_report.py [--records 10000] [--keep DIR]

A fake Table-1-style spec (a 10 x 10 grid of RPN (cls, reg) weights as rows, 10 column
settings in two groups, 10 seeds: 10,000 runs, about 1% failed, running or corrupt) is
written to a temporary folder; then the whole report is timed: collect, the markdown /
CSV / LaTeX tables, the claims, and every figure kind (PNG + PDF each): the weight grid,
a bar chart of the differences to the baseline (ALWA Table 4's kind, with diverged cells)
and lines over the classification weight (Table 6's kind). The target is 5 seconds in
all. Reads and writes only the temporary folder.
"""
from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from repro.report.claims import parse_claims  # noqa: E402
from repro.report.collect import collect  # noqa: E402
from repro.table.spec import TableSpec  # noqa: E402

WEIGHTS = [0.1, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 1.75, 2.0, 2.5]
CLAIMS = [
    {"id": "reg_gt_cls", "text": "reg > cls improves", "kind": "rows_beat_baseline",
     "rows": {"gt": ["balancer.reg_weight", "balancer.cls_weight"]}, "columns": {"group": "VOC"}},
    {"id": "coco_less", "text": "COCO less sensitive", "kind": "less_sensitive",
     "columns": {"group": "COCO"}, "than": {"group": "VOC"}},
    {"id": "best", "text": "(0.1, 0.5) best", "kind": "best_in_every_column",
     "rows": {"ids": ["w0.10-0.50"]}},
]


def fake_spec(n_columns: int) -> TableSpec:
    columns = [{"id": f"set{j}", "group": "VOC" if j < n_columns // 2 else "COCO",
                "label": f"S{j}", "set": {"dataset": "voc"}} for j in range(n_columns)]
    rows = [{"set": {"balancer.cls_weight": c, "balancer.reg_weight": r},
             "baseline": c == r == 1.0,
             "paper": [70.0 if c == r == 1.0 else round(0.3 * (r - c), 2)] * n_columns}
            for c in WEIGHTS for r in WEIGHTS]
    return TableSpec.from_mapping("bench", {
        "id": "bench", "paper": "ALWA", "number": "B", "caption": "benchmark",
        "row_header": "(cls, reg)", "paper_values": "deltas", "columns": columns,
        "row_id": "w{balancer.cls_weight:.2f}-{balancer.reg_weight:.2f}",
        "row_label": "({balancer.cls_weight:.2f},{balancer.reg_weight:.2f})", "rows": rows,
        "figures": FIGURES})


# One of each kind repro/report/table_figures.py draws, at a table's size (ALWA Table 4:
# 4 balancers x 3 detectors; Table 6: 5 settings x 3 losses).
FIGURES = [
    {"kind": "bars", "x": "columns", "value": "delta", "columns": {"ids": ["set0", "set1", "set5"]},
     "rows": {"ids": ["w1.00-1.00", "w0.10-0.50", "w0.50-1.50", "w2.00-1.00", "w0.25-2.00"]}},
    {"kind": "lines", "x": "balancer.cls_weight", "columns": {"ids": ["set0", "set1", "set5"]},
     "rows": {"set": {"balancer.reg_weight": 1.0}, "between": {"balancer.cls_weight": [0.5, 1.5]}}},
]


def write_records(spec: TableSpec, root: Path, seeds: int) -> int:
    rng, n = random.Random(0), 0
    for cell in spec.cells():
        w = cell.row.set
        for seed in range(seeds):
            d = root / "bench" / spec.id / cell.id / f"seed{seed}"
            d.mkdir(parents=True)
            roll = rng.random()
            state = "failed" if roll < 0.005 else "running" if roll < 0.01 else "done"
            if cell.id == "w0.10-0.50__set1":  # a diverged cell, drawn as a hatched stub
                state = "failed"
            status = {"state": state, "reason": "nan" if state == "failed" else None,
                      "seconds": 3600 * rng.random(), "host": "node1", "pid": 1000 + n,
                      "slurm_job_id": None, "started": "2026-01-01T00:00:00+00:00"}
            (d / "status.json").write_text(json.dumps(status))
            (d / "provenance.json").write_text(json.dumps({
                "git": {"commit": "0" * 40, "dirty": False}, "host": "node1",
                "overrides": [f"cell={cell.id}", f"seed={seed}"]}))
            if state == "done" and roll > 0.012:  # the rest: done without metrics.json
                value = 70 + w["balancer.reg_weight"] - w["balancer.cls_weight"] + rng.gauss(0, 0.3)
                (d / "metrics.json").write_text(json.dumps({"metric": "mAP", "value": value}))
            n += 1
    return n


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--records", type=int, default=10_000)
    p.add_argument("--keep", type=Path, help="write here instead of a temporary folder")
    a = p.parse_args()
    spec = fake_spec(10)
    seeds = max(1, round(a.records / len(spec.cells())))
    with tempfile.TemporaryDirectory() as tmp:
        root = a.keep or Path(tmp)
        n = write_records(spec, root / "sweeps", seeds)
        t0 = time.perf_counter()
        frame = collect(spec, profile="bench", sweeps_root=root / "sweeps")
        t1, c1 = time.perf_counter(), time.process_time()
        from repro.report.build import build_report

        paths = build_report(spec, profile="bench", sweeps_root=root / "sweeps",
                             results_root=root / "results",
                             claims=parse_claims(spec, CLAIMS))
        t2, c2 = time.perf_counter(), time.process_time()
    print(f"{n} records ({len(spec.rows)} rows x {len(spec.columns)} columns x {seeds} seeds), "
          f"{len(frame)} collected")
    print(f"collect alone: {t1 - t0:.2f} s")
    print(f"full report (collect, md/csv/tex tables, claims, weight grid + bars + lines, "
          f"PNG+PDF each): {t2 - t1:.2f} s, {len(paths)} files "
          f"({c2 - c1:.2f} s CPU time of this process"
          + ("; wall well above CPU: the cores were shared)" if t2 - t1 > 1.2 * (c2 - c1) else ")"))
    return 0 if t2 - t1 <= 5.0 else 1


if __name__ == "__main__":
    sys.exit(main())
