"""The cells as CSV (results/<profile>/<table>.csv): one row per cell, the cell model's
columns (repro/report/cells.py) plus the profile and the table's note, so a plain
pandas.read_csv reads it."""
from __future__ import annotations

import pandas as pd

from repro.report.reported import ReportedTable

SUFFIX = ".csv"


def render(table: ReportedTable, cells: pd.DataFrame) -> str:
    return cells.assign(profile=table.profile, note=table.spec.note).to_csv(
        index=False, float_format="%.4f")
