"""The table as console text (python -m repro.report show=true): its note, legend and
cells as a plain grid; no file."""
from __future__ import annotations

import pandas as pd

from repro.report import layout
from repro.report.reported import ReportedTable
from repro.report.scale import scale_line

SUFFIX = None  # printed, not written


def render(table: ReportedTable, cells: pd.DataFrame) -> str:
    """A plain-text grid for a terminal (python -m repro.report show=true)."""
    spec, profile = table.spec, table.profile
    from tabulate import tabulate

    rows = [[label, *texts] if texts else [f"[{label}]" if label else ""]
            for label, texts in layout.body_rows(spec, cells)][1 if len(spec.groups) > 1 else 0:]
    head = [f"{spec.paper} Table {spec.number} ({spec.id}), {profile} profile"]
    off_scale = scale_line(spec, table.frame)
    if off_scale:
        head.append(off_scale)
    if spec.note:
        head.append(f"Note: {spec.note}")
    head += [*layout.legend(spec), layout.noise_legend(spec, cells)]
    grid = tabulate(rows, headers=[spec.row_header, *layout.heads(spec)], tablefmt="simple")
    return "\n".join([*head, "", grid]) + "\n"
