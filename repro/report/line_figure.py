"""The `lines` figure of a table (repro/report/table_figures.py): chosen rows along a numeric
override, one line per column, paper left, ours right."""
from __future__ import annotations

import math
from pathlib import Path
from repro.core.outcomes import NAMED_OUTCOMES
from repro.report.figures import plt, save_figure
from repro.report.figure_panels import _Cells, _panels, _who, _no_numbers


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
