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

import math
import re
from pathlib import Path

import pandas as pd

from repro.core.errors import ReproError
from repro.core.outcomes import NAMED_OUTCOMES
from repro.report.cell_text import MARK, significance_mark
from repro.report.figures import plt, save_figure
from repro.report.noise import critical
from repro.report.selectors import select_columns, select_rows
from repro.table.spec import Column, Row, TableSpec

KINDS = {"bars": ("x", "value"), "lines": ("x", "xlabel", "xscale")}
COMMON = ("kind", "rows", "columns", "name", "title", "ylabel")
PANEL_W, PANEL_H = 6.2, 4.2


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


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9.]+", "_", str(text)).strip("_")


class _Cells:
    """Paper and reproduced numbers of a cell_table, by (row, column)."""

    def __init__(self, cells: pd.DataFrame):
        self.by = {(r["row"], r["column"]): r for r in cells.to_dict("records")}

    def get(self, row: str, col: str, source: str, delta: bool):
        """(value | None, error | None, outcome word | None) of one cell."""
        e = self.by.get((row, col))
        if e is None:
            return None, None, "missing"
        if source == "paper":
            v = e["paper"]
            if isinstance(v, str):
                return None, None, v
            if delta:
                v = e["paper_delta"] if not e["paper_is_delta"] else e["paper"]
            return (None, None, "–") if _nan(v) else (float(v), None, None)
        if _nan(e["reproduced"]):
            return None, None, e["state"]
        if not delta:
            return float(e["reproduced"]), _std(e), None
        if _nan(e["reproduced_delta"]):
            return None, None, "no ref."
        # The delta's 95% interval from the measured noise (repro/report/noise.py); no
        # noise estimate: no error bar.
        se = e.get("delta_se")
        err = None if _nan(se) else critical(e["delta_dof"]) * float(se)
        return float(e["reproduced_delta"]), err, None

    def significant(self, row: str, col: str) -> bool:
        e = self.by.get((row, col))
        return e is not None and significance_mark(e) != ""


def _tick(spec: TableSpec, group, with_reference: bool) -> str:
    """A group's tick label; a row of a table with row groups names its baseline row."""
    if with_reference and len(spec.groups) > 1 and isinstance(group, Row):
        base = spec.baseline_of(group)
        if base is not None:
            return f"{group.label}\nvs {base.label}"
    if isinstance(group, Column) and group.group:  # one-stage / two-stage (Table 4)
        return f"{group.label}\n({group.group})"
    return group.label


def _nan(x) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x))


def _std(e) -> float | None:
    return float(e["std"]) if e is not None and e["n"] and e["n"] > 1 else None


def _has_reference(cells: pd.DataFrame, row: str, col: str) -> bool:
    hit = cells[(cells.row == row) & (cells.column == col)]
    return not hit.empty and isinstance(hit.iloc[0]["reference_row"], str)


def _panels(n_x: int, width_per_x: float, title: str, legend_rows: int, rotated: bool):
    """Paper and reproduced panels: side by side, or stacked when each needs a wide axis."""
    width = max(PANEL_W, 1.3 + width_per_x * n_x)
    stacked = width > 8.5
    labels = 1.0 if rotated else 0.55  # inches under an axis for its tick labels + xlabel
    legend = 0.3 + 0.22 * legend_rows
    if stacked:
        width = min(width, 15.0)
        height = 2 * PANEL_H + 2 * labels + legend + 0.9
        fig, axes = plt.subplots(2, 1, figsize=(width, height))
        fig.subplots_adjust(left=0.9 / width, right=1 - 0.2 / width, top=1 - 0.8 / height,
                            bottom=(labels + legend) / height,
                            hspace=(labels + 0.45) / PANEL_H)
    else:
        height = PANEL_H + labels + legend + 0.8
        fig, axes = plt.subplots(1, 2, figsize=(2 * width, height))
        fig.subplots_adjust(left=0.9 / (2 * width), right=1 - 0.2 / (2 * width),
                            top=1 - 0.8 / height, bottom=(labels + legend) / height,
                            wspace=1.1 / width)
    fig.suptitle(title, fontsize=11)
    return fig, list(axes)


def _reference_words(spec: TableSpec) -> str:
    col = spec.baseline_column
    if col is not None:
        return f"the same row's {col.label} column"
    if len(spec.groups) > 1:
        return "the baseline row of its group"
    base = spec.baseline_row
    return f"the {base.label} row" if base is not None else "its reference"


def _who(s: int, profile: str, delta: bool = False) -> str:
    if s == 0:
        return "paper"
    if delta:
        return (f"reproduced ({profile} profile): bars ± 95% noise interval, "
                f"{MARK} outside the noise")
    return f"reproduced ({profile} profile), ± 1 std over seeds"


def _no_numbers(ax, words: list[str]) -> None:
    """A panel with nothing run yet: one line of text instead of a label per cell."""
    for t in list(ax.texts):
        t.remove()
    counts = {w: words.count(w) for w in dict.fromkeys(words)}
    ax.text(0.5, 0.5, "no numbers yet: " + ", ".join(f"{n} {w}" for w, n in counts.items()),
            transform=ax.transAxes, ha="center", va="center", color="0.35")
    ax.set_yticks([])


def bars_figure(spec, cells, profile, entry, out_dir, stem, metric) -> list[Path]:
    rows, cols = entry["rows"], entry["columns"]
    delta = entry.get("value", "delta" if cells.reference_row.notna().any() else "absolute")
    delta = delta == "delta"
    by_rows = entry.get("x", "columns") == "rows"
    groups, series = (rows, cols) if by_rows else (cols, rows)

    def cell(g, ser):
        return (g.id, ser.id) if by_rows else (ser.id, g.id)
    if delta:  # a reference cell has no difference to draw: drop series that are all such
        series = [x for x in series if any(_has_reference(cells, *cell(g, x)) for g in groups)]
        groups = [g for g in groups if any(_has_reference(cells, *cell(g, x)) for x in series)]
    if not groups or not series:
        return []
    lookup = _Cells(cells)
    ticks = [_tick(spec, g, by_rows and delta) for g in groups]
    rotated = max(len(t.split("\n")[0]) for t in ticks) * len(groups) > 60
    what = (f"Δ {metric} of each cell to {_reference_words(spec)}" if delta
            else f"{metric} of each cell")
    fig, axes = _panels(len(groups), 0.28 * len(series) + 0.35,
                        entry.get("title") or f"{spec.paper} Table {spec.number}: {what}",
                        math.ceil(len(series) / 4), rotated)
    colours = plt.get_cmap("tab10" if len(series) <= 10 else "tab20").colors
    for s, ax in enumerate(axes):
        source = "paper" if s == 0 else "reproduced"
        vals = {(gi, si): lookup.get(*cell(g, x), source, delta)
                for gi, g in enumerate(groups) for si, x in enumerate(series)}
        marks = {k for k, (gi, si) in ((k, k) for k in vals) if s == 1 and delta
                 and lookup.significant(*cell(groups[gi], series[si]))}
        _bar_panel(ax, vals, len(series), colours, delta, marks)
        ax.set_xticks(range(len(groups)), ticks, rotation=25 if rotated else 0,
                      ha="right" if rotated else "center", fontsize=8,
                      rotation_mode="anchor" if rotated else "default")
        ax.set_xlim(-0.6, len(groups) - 0.4)
        ax.set_ylabel(entry.get("ylabel") or (f"Δ {metric} to the reference (points)" if delta
                                               else f"{metric} (points; axis not from 0)"),
                      fontsize=9)
        ax.set_title(_who(s, profile, delta), fontsize=9 if s and delta else 10)
        ax.grid(axis="y", alpha=0.3)
        ax.tick_params(axis="y", labelsize=8)
    handles = [plt.Rectangle((0, 0), 1, 1, color=colours[i % len(colours)])
               for i in range(len(series))]
    labels = [f"{x.group} {x.label}".strip() if by_rows else x.label for x in series]
    fig.legend(handles, labels, loc="lower center", ncol=min(len(series), 4), fontsize=8,
               frameon=False)
    return save_figure(fig, out_dir, stem)


def _bar_panel(ax, vals: dict, n_series: int, colours, delta: bool,
               marks: set = frozenset()) -> None:
    """{(group, series): (value, error, word)} as grouped bars; words where no number;
    the bars in `marks` (deltas outside the noise) get the table's mark."""
    have = [(v, e or 0.0) for v, e, _ in vals.values() if v is not None]
    lo = min([v - e for v, e in have] + ([0.0] if delta else []), default=0.0)
    hi = max([v + e for v, e in have] + ([0.0] if delta else []), default=1.0)
    span = max(hi - lo, 0.1)
    # room for the numbers written beyond the bars, and for the stubs under zero
    room = 0.28 if len(vals) <= 30 else 0.1
    bottom = lo - ((room if lo < 0 else 0.18) if delta else 0.35) * span
    top = hi + room * span
    stub, base, width = 0.08 * (top - bottom), (0.0 if delta else bottom), 0.8 / n_series
    for (gi, si), (v, err, word) in vals.items():
        x, colour = gi - 0.4 + width * (si + 0.5), colours[si % len(colours)]
        mark = MARK if (gi, si) in marks else ""
        if v is not None:
            ax.bar(x, v - base, width * 0.92, bottom=base, color=colour, yerr=err, capsize=2,
                   ecolor="0.2", error_kw={"lw": 0.8})
            if len(vals) <= 30:  # the number, beyond the bar's end and its error bar
                end = v + (err or 0.0) if v >= 0 else v - (err or 0.0)
                ax.annotate((f"{v:+.2f}" if delta else f"{v:.2f}") + mark, (x, end),
                            xytext=(0, 4 if v >= 0 else -4), textcoords="offset points",
                            ha="center", va="bottom" if v >= 0 else "top", fontsize=6,
                            rotation=90 if n_series > 2 else 0)
            elif mark:  # too many bars for their numbers: the mark alone
                end = v + (err or 0.0) if v >= 0 else v - (err or 0.0)
                ax.annotate(mark, (x, end), xytext=(0, 2 if v >= 0 else -2),
                            textcoords="offset points", ha="center",
                            va="bottom" if v >= 0 else "top", fontsize=7)
        elif word in NAMED_OUTCOMES:  # diverged: a hatched stub under the axis line
            low = base - stub if delta else base
            ax.bar(x, stub, width * 0.92, bottom=low, color="white", edgecolor=colour,
                   hatch="////")
            ax.text(x, low + stub * 1.15, word, rotation=90, ha="center", va="bottom",
                    fontsize=7, color="firebrick")
        else:  # missing, running, failed (oom), ...
            ax.text(x, base + (0.0 if delta else 0.02) * (top - bottom), word, rotation=90,
                    ha="center", va="bottom", fontsize=6.5, color="0.35")
    ax.set_ylim(bottom, top)
    if delta:
        ax.axhline(0.0, color="black", lw=0.8)
    if not have:
        _no_numbers(ax, [w for _, _, w in vals.values()])


def lines_figure(spec, cells, profile, entry, out_dir, stem, metric) -> list[Path]:
    rows = sorted(entry["rows"], key=lambda r: r.set[entry["x"]])
    xs = [r.set[entry["x"]] for r in rows]
    lookup = _Cells(cells)
    title = entry.get("title") or (f"{spec.paper} Table {spec.number}: {metric} over "
                                   f"{entry.get('xlabel') or entry['x']}, one line per column")
    fig, axes = _panels(0, 0, title, 1, False)
    log = entry.get("xscale") == "log"
    for s, ax in enumerate(axes):
        source = "paper" if s == 0 else "reproduced"
        points = [[lookup.get(r.id, col.id, source, False) for r in rows]
                  for col in entry["columns"]]
        _line_panel(ax, xs, points, entry["columns"], log, errors=s == 1)
        ax.set_xlabel(entry.get("xlabel") or entry["x"], fontsize=9)
        ax.set_ylabel(entry.get("ylabel") or f"{metric} (points)", fontsize=9)
        ax.set_title(_who(s, profile), fontsize=10)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=min(len(labels), 6), fontsize=8,
               frameon=False)
    return save_figure(fig, out_dir, stem)


def _line_panel(ax, xs: list, points: list, cols, log: bool, errors: bool) -> None:
    """One line per column through (x, value); with `errors`, bars of one std, the
    columns nudged apart so that their bars do not hide each other."""
    colours = plt.get_cmap("tab10").colors
    marks = []
    for ci, (col, pts) in enumerate(zip(cols, points)):
        ys = [v if v is not None else math.nan for v, _, _ in pts]
        c, label = colours[ci % len(colours)], f"{col.group} {col.label}".strip()
        if errors:
            shift = (ci - (len(cols) - 1) / 2) * 0.015
            at = [x * (1 + 2 * shift) if log else x + shift * (max(xs) - min(xs) or 1)
                  for x in xs]
            ax.errorbar(at, ys, yerr=[e or 0.0 for _, e, _ in pts], fmt="o-", color=c, lw=1.4,
                        ms=4, capsize=3, label=label)
        else:
            ax.plot(xs, ys, "o-", color=c, lw=1.4, ms=4, label=label)
        marks += [(x, word, c) for x, (_, _, word) in zip(xs, pts) if word is not None]
    finite = [v for line in ax.get_lines() for v in line.get_ydata() if not math.isnan(v)]
    lo, hi = (min(finite), max(finite)) if finite else (0.0, 1.0)
    pad = max(hi - lo, 0.1)
    ax.set_ylim(lo - (0.3 if marks and finite else 0.1) * pad, hi + 0.15 * pad)
    if not finite:
        _no_numbers(ax, [w for _, w, _ in marks])
        marks = []
    for x, word, c in marks:  # diverged or missing points, along the bottom
        ax.plot([x], [lo - 0.22 * pad], "x" if word in NAMED_OUTCOMES else "|", color=c)
    for x, word in dict.fromkeys((x, w) for x, w, _ in marks):  # one label per point
        last = x == max(xs)
        ax.annotate(word, (x, lo - 0.22 * pad), xytext=(-3 if last else 3, 3),
                    textcoords="offset points", ha="right" if last else "left",
                    fontsize=6.5, color="firebrick" if word in NAMED_OUTCOMES else "0.35")
    ax.set_xscale("log" if log else "linear")
    span = max(xs) - min(xs) or 1
    ax.set_xlim(*((min(xs) / 1.3, max(xs) * 1.3) if log
                  else (min(xs) - 0.06 * span, max(xs) + 0.06 * span)))
    ax.set_xticks(xs, [f"{x:g}" for x in xs], fontsize=8)
    ax.minorticks_off()
    ax.tick_params(axis="y", labelsize=8)
    ax.grid(alpha=0.3)
