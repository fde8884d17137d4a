"""Everything the report writes for one table, from whatever records exist: the one
orchestrator of the report.

The records are read once (repro/report/collect.py), the cell model computed once
(repro/report/cells.py) and the claims judged once (repro/report/claims.py); then every
format writes its file from them (repro/report/formats/: results/<profile>/<table>.md,
.csv, .tex and <table>_claims.csv), and the figures go under results/<profile>/figures/:
the figures the table file lists under `figures:` (bars, lines:
repro/report/table_figures.py), the loss-weight grid (a table whose rows set the RPN
weights, ALWA Table 1: repro/report/figures.py), and one loss/weight plot per run
trained with a dynamic balancer (its scalars carry balancer_w_cls: the paper's Figures 1
and 3, repro/report/curves.py).
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from repro.core.paths import project_path
from repro.report.cells import cell_table
from repro.report.claims import evaluate, load_claims
from repro.report.collect import collect
from repro.report.formats import cells_csv, claims_csv, console, latex, markdown
from repro.report.reported import ReportedTable
from repro.table.spec import TableSpec

WRITTEN = (markdown, cells_csv, latex, claims_csv)  # in the order their paths are printed


def assemble(spec: TableSpec, *, profile: str, sweeps_root,
             claims: list | None = None) -> tuple[ReportedTable, pd.DataFrame]:
    """The table's records, verdicts and cells. `claims` None: the table file's own."""
    frame = collect(spec, profile=profile, sweeps_root=sweeps_root)
    cells = cell_table(spec, frame)
    verdicts = evaluate(spec, load_claims(spec) if claims is None else claims, cells)
    return ReportedTable(spec, profile, frame, verdicts), cells


def write_table(spec: TableSpec, *, profile: str, sweeps_root, results_root,
                claims: list | None = None) -> list[Path]:
    """The table's files without its figures (<table>.md, .csv, .tex, _claims.csv)."""
    return write_formats(*assemble(spec, profile=profile, sweeps_root=sweeps_root,
                                  claims=claims), results_root)


def write_formats(table: ReportedTable, cells: pd.DataFrame, results_root) -> list[Path]:
    """Every format's file under results/<profile>/; their paths."""
    out = project_path(results_root) / table.profile
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for fmt in WRITTEN:
        path = out / f"{table.spec.id}{fmt.SUFFIX}"
        path.write_text(fmt.render(table, cells), encoding="utf-8")
        paths.append(path)
    return paths


def write_figures(table: ReportedTable, cells: pd.DataFrame, results_root) -> list[Path]:
    from repro.report import curves, figures, table_figures  # matplotlib: only for figures

    spec, profile, frame = table.spec, table.profile, table.frame
    out = project_path(results_root) / profile / "figures"
    paths = figures.weight_grid_figure(spec, cells, profile, out)
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


def build(spec: TableSpec, *, profile: str, sweeps_root, results_root,
          claims: list | None = None) -> tuple[list[Path], str]:
    """The table's files and figures, written: their paths, and the table as console
    text (python -m repro.report show=true prints it)."""
    from repro.report.table_figures import check_figures

    check_figures(spec)  # a bad `figures:` entry fails before anything is written
    table, cells = assemble(spec, profile=profile, sweeps_root=sweeps_root, claims=claims)
    paths = write_formats(table, cells, results_root) + write_figures(table, cells, results_root)
    return paths, console.render(table, cells)


def build_report(spec: TableSpec, *, profile: str, sweeps_root, results_root,
                 claims: list | None = None) -> list[Path]:
    """The paths `build` wrote. `claims` None: the table file's own."""
    return build(spec, profile=profile, sweeps_root=sweeps_root, results_root=results_root,
                 claims=claims)[0]
