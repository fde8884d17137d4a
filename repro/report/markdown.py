"""The regenerated table as Markdown (results/<profile>/<table>.md) and as console text.

Both carry the same cells (repro/report/table.py::cell_text), the table's note, and a
line per row group where a table has several (ALWA Table 2: detector x backbone;
Table 6: lambda0 and C).
"""
from __future__ import annotations

import pandas as pd

from repro.report.scale import scale_line
from repro.report.table import PROFILE_NOTES, cell_text, legend, noise_legend, shown_path
from repro.table.spec import TableSpec


def _heads(spec: TableSpec) -> list[str]:
    return [f"{c.group} {c.label}".strip() + (" (reference)" if c.baseline else "")
            for c in spec.columns]


def body_rows(spec: TableSpec, cells: pd.DataFrame) -> list[tuple[str | None, list[str]]]:
    """(row label, cell texts) in the paper's order. Where a table has several row
    groups, (None, []) starts each group, and (group name, []) too where the group has
    no baseline row to head it (ALWA Table 6: "lambda0", "C")."""
    by_row: dict = {}
    for rec in cells.to_dict("records"):
        by_row.setdefault(rec["row"], []).append(cell_text(rec, spec))
    out, group = [], None
    several = len(spec.groups) > 1
    for row in spec.rows:
        if several and row.group != group:
            group = row.group
            out.append((None, []))
            if spec.baseline_of(row) is None:
                out.append((group, []))
        label = row.label + (" (reference)" if row.baseline and spec.paper_values != "deltas"
                             else "")
        out.append((label, by_row.get(row.id, [])))
    return out


def render_markdown(spec: TableSpec, cells: pd.DataFrame, profile: str, *,
                    claims: str = "", frame: pd.DataFrame | None = None) -> str:
    heads = _heads(spec)
    lines = [f"# {spec.paper} Table {spec.number} — reproduced ({profile} profile)", "",
             f"> {PROFILE_NOTES.get(profile, profile + ' profile')}.", ""]
    off_scale = scale_line(spec, frame if frame is not None else cells.iloc[:0])
    if off_scale:
        lines += [f"> **{off_scale}.**", ""]
    if spec.note:
        lines += [f"> **Note:** {spec.note}", ""]
    lines += [spec.caption, "", *sum(([x, ""] for x in [*legend(spec), noise_legend(spec, cells)]), [])]
    lines.append("| " + " | ".join([spec.row_header, *heads]) + " |")
    lines.append("|" + "---|" * (len(heads) + 1))
    for label, texts in body_rows(spec, cells):
        if label is None:
            continue
        if not texts:
            lines.append("| " + " | ".join([f"**{label}**", *[""] * len(heads)]) + " |")
        else:
            lines.append("| " + " | ".join([label, *texts]) + " |")
    counts = cells.state.value_counts().to_dict()
    lines += ["", "Cells: " + ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))]
    text = "\n".join(lines) + "\n"
    if claims:
        text += "\n" + claims
    if frame is not None:
        text += render_problems(frame)
    return text


def render_console(spec: TableSpec, cells: pd.DataFrame, profile: str,
                   frame: pd.DataFrame | None = None) -> str:
    """A plain-text grid for a terminal (python -m repro.report show=true)."""
    from tabulate import tabulate

    rows = [[label, *texts] if texts else [f"[{label}]" if label else ""]
            for label, texts in body_rows(spec, cells)][1 if len(spec.groups) > 1 else 0:]
    head = [f"{spec.paper} Table {spec.number} ({spec.id}), {profile} profile"]
    off_scale = scale_line(spec, frame) if frame is not None else None
    if off_scale:
        head.append(off_scale)
    if spec.note:
        head.append(f"Note: {spec.note}")
    head += [*legend(spec), noise_legend(spec, cells)]
    grid = tabulate(rows, headers=[spec.row_header, *_heads(spec)], tablefmt="simple")
    return "\n".join([*head, "", grid]) + "\n"


def render_problems(frame: pd.DataFrame, limit: int = 200) -> str:
    """Records the report could not trust, by path, so someone can look at them."""
    bad = frame[frame.problem.notna()] if "problem" in frame else frame.iloc[:0]
    if bad.empty:
        return ""
    lines = ["", f"## Records needing attention: {len(bad)}", "",
             "Corrupt or partial run records (shown as `corrupt` above); rerun or repair them.",
             ""]
    for run_dir, problem in list(zip(bad.run_dir, bad.problem))[:limit]:
        lines.append(f"- `{shown_path(run_dir)}`: {problem}")
    if len(bad) > limit:
        lines.append(f"- … and {len(bad) - limit} more")
    return "\n".join(lines) + "\n"
