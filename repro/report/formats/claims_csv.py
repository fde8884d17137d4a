"""The claims' verdicts as CSV (results/<profile>/<table>_claims.csv): one row per claim,
judged on the paper's numbers and on ours (repro/report/claims.py)."""
from __future__ import annotations

import csv

import pandas as pd

from repro.report.reported import ReportedTable

SUFFIX = "_claims.csv"


def render(table: ReportedTable, cells: pd.DataFrame) -> str:
    return table.verdicts.to_csv(index=False, quoting=csv.QUOTE_MINIMAL)
