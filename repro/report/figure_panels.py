"""What the bar and line figures of a table share: the cells of a figure, ticks, panels, the
words for reference and profile (repro/report/table_figures.py)."""
from __future__ import annotations

import math
import re
import pandas as pd
from repro.report.cell_text import MARK, significance_mark
from repro.report.figures import plt, save_figure
from repro.report.noise import critical
from repro.table.spec import Column, Row, TableSpec

PANEL_W, PANEL_H = 6.2, 4.2


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
