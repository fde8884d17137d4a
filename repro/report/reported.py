"""What a table's report is made of besides its cells: the table, the profile, the run
records (for the records needing attention) and the claims' verdicts. Every format's
`render(table, cells)` takes one (repro/report/formats/); repro/report/build.py makes it."""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from repro.table.spec import TableSpec


@dataclass(frozen=True)
class ReportedTable:
    spec: TableSpec
    profile: str
    frame: pd.DataFrame  # the run records (repro/report/collect.py), one row per run
    verdicts: pd.DataFrame  # the claims judged (repro/report/claims.py::evaluate)
