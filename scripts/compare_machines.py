"""Two machines, the same cells and seed (issue 11, point 4): how far apart are they?

    .venv/bin/python scripts/compare_machines.py --table 1 \
        --reference <(git show HEAD:results/smoke/table1.csv)

Compares this machine's seed-0 records (sweeps/<profile>/<table>/, e.g. after
`python -m repro table=1 -m`) with a table CSV made elsewhere (the committed
results/smoke/<table>.csv: a cell with n = 1 there is its seed-0 value). Runs nothing.
Prints how many cells are bit-identical, the mean, median and largest |difference| per
metric against the noise target (1.0 mAP VOC, 0.5 AP COCO), and exits 1 above it.
"""
from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from repro.report.collect import collect  # noqa: E402
from repro.table.spec import load_table  # noqa: E402

from benchmark_noise import TARGETS  # noqa: E402  (one place for issue 11's targets)


def differences(here: pd.DataFrame, reference: pd.DataFrame) -> pd.DataFrame:
    """Per cell with a seed-0 value on both sides: here, there, |here - there|, metric."""
    seed0 = here[(here.seed == 0) & (here.state == "done")][["row", "column", "value", "metric"]]
    there = reference[(reference.n == 1) & (reference.state == "done")][
        ["row", "column", "reproduced"]]
    both = seed0.merge(there, on=["row", "column"])
    both["abs_diff"] = (both.value - both.reproduced).abs()
    return both.rename(columns={"value": "here", "reproduced": "there"})


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--table", default="1")
    ap.add_argument("--reference", type=Path, required=True,
                    help="a table CSV from another machine (results/<profile>/<table>.csv)")
    ap.add_argument("--profile", default="smoke")
    ap.add_argument("--sweeps-root", default="sweeps")
    a = ap.parse_args()
    try:
        reference = pd.read_csv(a.reference)
    except (OSError, ValueError) as e:
        print(f"--reference {a.reference}: not a readable table CSV ({e}); give e.g. "
              f"results/smoke/table1.csv", file=sys.stderr)
        return 2
    spec = load_table(a.table)
    both = differences(collect(spec, profile=a.profile, sweeps_root=a.sweeps_root), reference)
    if both.empty:
        print(f"no cell has a seed-0 record here ({a.sweeps_root}/{a.profile}/{spec.id}) and "
              f"n = 1 in {a.reference}: run the table first (python -m repro table={a.table} -m)",
              file=sys.stderr)
        return 2
    failed = False
    for metric, g in both.groupby("metric"):
        d = list(g.abs_diff)
        target = TARGETS.get(metric, float("nan"))
        above = sum(x > target for x in d)
        failed |= above > 0
        print(f"{metric}: {len(d)} cells, {sum(x == 0 for x in d)} identical; |Δ| mean "
              f"{statistics.fmean(d):.2f}, median {statistics.median(d):.2f}, max {max(d):.2f} "
              f"({g.loc[g.abs_diff.idxmax(), 'row']}__{g.loc[g.abs_diff.idxmax(), 'column']}); "
              f"{above} above the target {target}")
    print("FAIL" if failed else "OK")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
