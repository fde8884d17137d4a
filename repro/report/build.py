"""Everything the report writes for one table, from whatever records exist.

results/<profile>/<table>.md, .csv, .tex, <table>_claims.csv (repro/report/table.py),
and under results/<profile>/figures/: the figures the table file lists under `figures:`
(bars, lines: repro/report/table_figures.py), the loss-weight grid (a table whose rows
set the RPN weights, ALWA Table 1: repro/report/figures.py), and one loss/weight plot
per run trained with a dynamic balancer (its scalars carry balancer_w_cls: the paper's
Figures 1 and 3, repro/report/curves.py). The records are read once.
"""
from __future__ import annotations

from pathlib import Path

from repro.core.paths import project_path
from repro.report.collect import collect
from repro.report.table import cell_table, write_table
from repro.table.spec import TableSpec


def build_report(spec: TableSpec, *, profile: str, sweeps_root, results_root,
                 claims: list | None = None) -> list[Path]:
    """`claims` None: the table file's own (repro/report/claims.py)."""
    from repro.report import curves, figures, table_figures  # matplotlib: only for figures

    table_figures.check_figures(spec)  # a bad `figures:` entry fails before anything is written
    frame = collect(spec, profile=profile, sweeps_root=sweeps_root)
    paths = write_table(spec, profile=profile, sweeps_root=sweeps_root,
                        results_root=results_root, frame=frame, claims=claims)
    out = project_path(results_root) / profile / "figures"
    cells = cell_table(spec, frame)
    paths += figures.weight_grid_figure(spec, cells, profile, out)
    metric = next(iter(frame.metric.dropna()), "")
    paths += table_figures.draw_table_figures(spec, cells, profile, out, metric=str(metric))
    for rec in frame[frame.state.isin(["done", "failed", "running"])].itertuples():
        if curves.has_balancer_weights(Path(rec.run_dir)):
            heading = (f"{spec.paper} Table {spec.number}, {rec.row} / {rec.column}, "
                       f"seed {rec.seed}, {profile} profile")
            name = f"{spec.id}_{rec.row}__{rec.column}_seed{rec.seed}_balancer"
            # One plot per balanced run: many per table, regenerated locally and not
            # committed (results/README.md), apart from the table-level figures.
            paths += curves.balancer_figure(Path(rec.run_dir), out / "runs", name, heading)
    return paths
