"""The `bars` figure of a table (repro/report/table_figures.py): a group of bars per column
or row, paper left, ours right with 95% noise intervals and significance marks."""
from __future__ import annotations

import math
from pathlib import Path
from repro.core.outcomes import NAMED_OUTCOMES
from repro.report.cell_text import MARK, significance_mark
from repro.report.figures import plt, save_figure
from repro.report.figure_panels import _Cells, _tick, _has_reference, _panels, _reference_words, _who, _no_numbers


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
