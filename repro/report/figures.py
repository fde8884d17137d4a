"""ALWA Table 1 as pictures: the difference to the baseline over the loss-weight grid.

One heatmap per column setting and source, paper beside reproduction: x the RPN's
classification weight, y its regression weight, a square per row of the table, colour
the difference to the baseline row (1, 1). The paper's conclusion (3), "regression
weight > classification weight improves the detector", is the upper-left triangle
being blue. Each panel has its own symmetric colour scale (the smoke profile's
differences are an order of magnitude larger than the paper's); the numbers are written
in the squares. Any table whose rows set both weights gets the figure.
"""
from __future__ import annotations

import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only; never a display
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.collections import PolyCollection  # noqa: E402
import pandas as pd  # noqa: E402

from repro.report.evidence import Estimate, Source, paper_source, reproduced_source  # noqa: E402
from repro.table.spec import TableSpec  # noqa: E402

CLS, REG = "balancer.cls_weight", "balancer.reg_weight"
PAIRS_PER_LINE = 2


def has_weight_grid(spec: TableSpec) -> bool:
    return spec.baseline_row is not None and all(CLS in r.set and REG in r.set for r in spec.rows)


def _grid(spec: TableSpec, src: Source, column: str, xs: list, ys: list):
    """Differences to the baseline row on the (cls, reg) grid; NaN where no row or data."""
    values = np.full((len(ys), len(xs)), np.nan)
    labels: dict = {}
    base = src.get(spec.baseline_row.id, column)
    for row in spec.rows:
        i, j = ys.index(row.set[REG]), xs.index(row.set[CLS])
        v = src.get(row.id, column)
        if row.baseline:
            labels[(i, j)] = "base"
            values[i, j] = 0.0 if isinstance(v, Estimate) else np.nan
        elif isinstance(v, str):
            labels[(i, j)] = v
        elif isinstance(v, Estimate) and isinstance(base, Estimate):
            d = src.diff((row.id, column), (spec.baseline_row.id, column))
            values[i, j] = d.value
            # '*': outside the noise (repro/report/noise.py); the paper's are exact.
            labels[(i, j)] = f"{d.value:+.2f}" + ("*" if not src.exact and d.above(0.0)
                                                   is not None else "")
        else:
            labels[(i, j)] = "–"  # a row of the table without a number (yet)
    return values, labels


def _panel(ax, values, labels, outlined, xs, ys, title: str, fontsize: float):
    finite = values[np.isfinite(values)]
    vmax = float(np.abs(finite).max()) if finite.size and np.abs(finite).max() > 0 else 1.0
    ax.set_facecolor("0.92")  # grid points the table has no row (or no number) for
    image = ax.imshow(np.ma.masked_invalid(values), cmap="RdBu", vmin=-vmax, vmax=vmax,
                      origin="lower", aspect="auto")
    # reg weight > cls weight: the squares conclusion (3) says gain; one collection, fast.
    ax.add_collection(PolyCollection(
        [[(j - .5, i - .5), (j + .5, i - .5), (j + .5, i + .5), (j - .5, i + .5)]
         for i, j in outlined], facecolors="none", edgecolors="black", linewidths=1.4))
    for (i, j), text in labels.items():
        ax.text(j, i, text, ha="center", va="center", fontsize=fontsize,
                color="white" if np.isfinite(values[i, j]) and abs(values[i, j]) > 0.6 * vmax
                else "black")
    ax.set_xticks(range(len(xs)), [f"{x:g}" for x in xs], fontsize=8)
    ax.set_yticks(range(len(ys)), [f"{y:g}" for y in ys], fontsize=8)
    ax.set_xlabel("classification weight (RPN)", fontsize=9)
    ax.set_ylabel("regression weight (RPN)", fontsize=9)
    ax.set_title(title, fontsize=10)
    bar = ax.figure.colorbar(image, ax=ax, fraction=0.046, pad=0.03)
    bar.solids.set_rasterized(False)  # a vector bar: the PDF needs no bitmap per panel
    bar.set_label("Δ to baseline (points)", fontsize=8)
    bar.ax.tick_params(labelsize=7)


def weight_grid_figure(spec: TableSpec, cells: pd.DataFrame, profile: str,
                       out_dir: Path) -> list[Path]:
    """<table>_weight_grid.png and .pdf under out_dir; [] for a table without the grid."""
    if not has_weight_grid(spec):
        return []
    xs = sorted({r.set[CLS] for r in spec.rows})
    ys = sorted({r.set[REG] for r in spec.rows})
    sources = [paper_source(spec), reproduced_source(cells)]
    n = len(spec.columns)
    lines, per_line = math.ceil(n / PAIRS_PER_LINE), 2 * min(n, PAIRS_PER_LINE)
    height = 4.4 * lines + 1.2
    fig, axes = plt.subplots(lines, per_line, squeeze=False, figsize=(5.2 * per_line, height))
    # Fixed margins, not constrained layout: the same picture at a third of the time.
    fig.subplots_adjust(left=0.05, right=0.97, bottom=0.45 / height, top=1 - 1.2 / height,
                        wspace=0.4, hspace=0.3)
    outlined = [(ys.index(r.set[REG]), xs.index(r.set[CLS])) for r in spec.rows
                if r.set[REG] > r.set[CLS]]
    fontsize = max(4.5, 11.0 - 0.5 * max(len(xs), len(ys)))
    for k, column in enumerate(spec.columns):
        for s, src in enumerate(sources):
            ax = axes[k // PAIRS_PER_LINE][2 * (k % PAIRS_PER_LINE) + s]
            who = "paper" if s == 0 else f"reproduced ({profile})"
            values, labels = _grid(spec, src, column.id, xs, ys)
            _panel(ax, values, labels, outlined, xs, ys,
                   f"{column.group} {column.label}: {who}".strip(), fontsize)
    for ax in axes.flat[2 * n:]:
        ax.set_visible(False)
    fig.suptitle(f"{spec.paper} Table {spec.number}, {profile} profile: difference to the baseline "
                 f"{spec.baseline_row.label} over the RPN (cls, reg) loss weights\n"
                 f"paper left, reproduced right in each pair; outlined: regression weight > "
                 f"classification weight; *: outside the seed noise (95%); –: no number yet",
                 fontsize=12, y=1 - 0.15 / height, va="top")
    return save_figure(fig, out_dir, f"{spec.id}_weight_grid")


def save_figure(fig, out_dir: Path, stem: str) -> list[Path]:
    """Write `fig` as <stem>.png and <stem>.pdf under `out_dir`, then close it."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = [out_dir / f"{stem}.{ext}" for ext in ("png", "pdf")]
    for p in paths:  # no creation date in the PDF: the same records give the same file
        fig.savefig(p, dpi=110, metadata={"CreationDate": None} if p.suffix == ".pdf" else None)
    plt.close(fig)
    return paths
