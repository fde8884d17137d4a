"""The figures a table file asks for (its `figures:` list), paper beside reproduction.

    figures:
      - {kind: bars, x: columns, value: delta}      # ALWA Table 4: a group of bars per detector
      - {kind: lines, rows: {group: C}, x: balancer.interval, xlabel: "C", xscale: log}

bars: one group of bars per column (`x: columns`) or per row (`x: rows`), one bar per
row (or column) of the group; `value: delta` (the default where cells have references)
draws each cell's difference to its reference (repro/table/spec.py), `absolute` the
value itself. A diverged cell (nan, overflow) is a hatched stub below the axis line
labelled with the outcome; a cell without a number is labelled with its state.
lines: the chosen rows as points along the numeric override `x`, one line per column.
Both draw two panels, the paper's numbers left and ours right, each on its own scale
(smoke numbers are not on the paper's); ours carry error bars of one std over seeds
(for a difference, the cell's and its reference's std in quadrature). Every entry may
also take `rows`, `columns` (repro/report/selectors.py), `name` (the file's suffix),
`title`, `ylabel`. A table whose rows set the RPN weights also gets the Table 1 weight
grid (repro/report/figures.py) without asking.
"""
from __future__ import annotations

from pathlib import Path
import pandas as pd
from repro.core.errors import ReproError
from repro.report.selectors import select_columns, select_rows
from repro.table.spec import Column, Row, TableSpec
from repro.report.bar_figure import bars_figure
from repro.report.line_figure import lines_figure
from repro.report.figure_panels import _slug

KINDS = {"bars": ("x", "value"), "lines": ("x", "xlabel", "xscale")}
COMMON = ("kind", "rows", "columns", "name", "title", "ylabel")


def check_figures(spec: TableSpec) -> list[dict]:
    """The table's `figures:` entries, each checked: kind, parameters, selectors."""
    out = []
    for i, entry in enumerate(spec.figures):
        where = f"conf/table/{spec.name}.yaml, figure {i + 1}"
        if not isinstance(entry, dict) or entry.get("kind") not in KINDS:
            raise ReproError(f"{where}: a figure is a mapping with kind one of "
                             f"{', '.join(KINDS)}; got {entry!r}")
        unknown = set(entry) - set(COMMON) - set(KINDS[entry["kind"]])
        if unknown:
            raise ReproError(f"{where} ({entry['kind']}): unknown {sorted(unknown)}; it takes "
                             f"{', '.join(COMMON[1:] + KINDS[entry['kind']])}")
        rows = select_rows(spec, entry.get("rows", {}), where)
        cols = _columns(spec, entry.get("columns"), where)
        if entry["kind"] == "bars":
            if entry.get("x", "columns") not in ("columns", "rows"):
                raise ReproError(f"{where}: x is 'columns' or 'rows', got {entry['x']!r}")
            if entry.get("value", "delta") not in ("delta", "absolute"):
                raise ReproError(f"{where}: value is 'delta' or 'absolute', got "
                                 f"{entry['value']!r}")
        else:
            key = entry.get("x")
            bad = [r.id for r in rows if isinstance(r.set.get(key), bool)
                   or not isinstance(r.set.get(key), (int, float))]
            if bad:
                raise ReproError(f"{where}: x must be a numeric override of every chosen row; "
                                 f"{key!r} is not one of rows {bad}")
            if entry.get("xscale", "linear") not in ("linear", "log"):
                raise ReproError(f"{where}: xscale is 'linear' or 'log'")
        out.append({**entry, "rows": rows, "columns": cols, "where": where})
    return out


def _columns(spec: TableSpec, sel, where: str):
    """Figures show every column by default, the baseline column included."""
    return list(spec.columns) if sel is None else select_columns(spec, sel, where)


def draw_table_figures(spec: TableSpec, cells: pd.DataFrame, profile: str, out_dir: Path,
                       metric: str = "") -> list[Path]:
    paths, used = [], set()
    for k, entry in enumerate(check_figures(spec)):
        draw = bars_figure if entry["kind"] == "bars" else lines_figure
        stem = f"{spec.id}_{entry['kind']}"
        suffix = entry.get("name") or (_slug(entry["x"].split(".")[-1])
                                       if entry["kind"] == "lines" else "")
        stem += f"_{suffix}" if suffix else ""
        if stem in used:
            stem += f"_{k + 1}"
        used.add(stem)
        paths += draw(spec, cells, profile, entry, out_dir, stem, metric or "value")
    return paths
