"""The layout every text format of a table shares (repro/report/formats/): the profile's
note, the legend, the noise sentence, the column heads and the body rows in the paper's
order, with a line per row group where a table has several (ALWA Table 2: detector x
backbone; Table 6: lambda0 and C)."""
from __future__ import annotations

import pandas as pd

from repro.report.cell_text import MARK, cell_text, fmt, missing
from repro.table.spec import TableSpec

PROFILE_NOTES = {
    "smoke": "smoke profile: synthetic CPU-sized data and a tiny backbone pretrained on a "
             "synthetic stand-in task; its numbers are NOT comparable to the paper's, only "
             "the layout and the direction of effects outside the noise are",
    "smoke-3x": "smoke-3x profile: the smoke profile at three times its schedule (660 "
                "iterations), quieter from seed to seed; its numbers are NOT comparable to "
                "the paper's, only the layout and the direction of effects outside the noise are",
    "paper": "paper profile: the paper's datasets, backbones and schedules",
    "paper-rehearsal": "paper profile rehearsed (rehearse=true): every cell at the paper's "
                       "scale for a few iterations, evaluated on a few test images; its "
                       "numbers say only whether each cell trains and evaluates",
}


def noise_legend(spec: TableSpec, cells: pd.DataFrame) -> str:
    """One sentence: what '*' means and the table's measured noise."""
    parts = []
    by_id = {c.id: c for c in spec.cells()}
    for key, group in cells.groupby("noise_domain", sort=False):
        sigma, dof = group.noise_sigma.iloc[0], group.noise_dof.iloc[0]
        ref = by_id.get(key)
        name = (f"{ref.column.group} {ref.column.label}".strip() if len(spec.rows) == 1 or
                spec.paper_values == "deltas" else
                f"{ref.row.label}" + ("" if len(spec.columns) == 1 or spec.baseline_column
                                      is not None else f" / {ref.column.label}")) \
            if ref is not None else key
        parts.append(f"{name} {'σ ' + fmt(sigma) + f' (dof {int(dof)})' if not missing(sigma) else 'no estimate'}")
    return (f"A reproduced delta marked {MARK} lies outside the seed-to-seed noise "
            "(|Δ| > t(0.975, dof) × SE, paired by seed where a cell shares 2+ seeds with its "
            "reference); unmarked: within the noise, or no noise estimate. Noise, the pooled "
            "seed std: " + "; ".join(parts) + ".")


def legend(spec: TableSpec) -> list[str]:
    """What a cell says and what it is compared against, one sentence each."""
    if spec.paper_values == "deltas":
        return [f"Row {spec.baseline_row.label} is absolute; the other rows are differences "
                f"to it, the paper's as printed and ours against our own baseline row.",
                "Each cell: reproduced [± std (n seeds)] (paper value)."]
    lines = ["Each cell: reproduced mean (its difference to the reference) ± std over seeds "
             "(n seeds); the paper's value (its difference to the paper's reference); "
             "diff = reproduced − paper."]
    col = spec.baseline_column
    if col is not None:
        lines.append(f"Reference: the same row's {col.label} column.")
    elif len(spec.groups) == 1 and spec.baseline_row is not None:
        lines.append(f"Reference: the {spec.baseline_row.label} row, same column.")
    elif any(r.baseline for r in spec.rows):
        bases = [r for r in spec.rows if r.baseline]
        lines.append("Reference: the baseline row of the row's group, same column ("
                     + ", ".join(b.label for b in bases) + ").")
    return lines


def heads(spec: TableSpec) -> list[str]:
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
