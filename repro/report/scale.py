"""The header line of a regenerated table that names what left the paper's scale.

Each run's scale.json (written by its job: repro/job/profile_scale.py::scale_record)
against the table's paper scale (repro/table/paper_scale.py): device, GPU count, batch,
schedule, images, image scale, backbone. One line, "Not the paper's scale: ...", with
how many of the table's runs each departure concerns where not all. Pure (no torch).
"""
from __future__ import annotations

import json
import os
from collections import Counter

import pandas as pd

from repro.table.paper_scale import SCALE_RECORD, departures, paper_scale
from repro.table.spec import TableSpec


def _record(run_dir: str) -> dict | None:
    try:
        with open(os.path.join(run_dir, SCALE_RECORD)) as f:
            rec = json.load(f)
    except (OSError, ValueError):
        return None
    return rec if isinstance(rec, dict) else None


def scale_line(spec: TableSpec, frame: pd.DataFrame) -> str | None:
    """None when every run with a record ran at the paper's scale (or none has one)."""
    paper = paper_scale(spec.fixed_by_profile)
    found: Counter = Counter()
    runs = 0
    for run_dir in frame.get("run_dir", []):
        rec = _record(str(run_dir))
        if rec is not None:
            runs += 1
            found.update(dict.fromkeys(departures(rec, paper), 1))
    if not found:
        return None
    parts = [what if n == runs else f"{what} [{n} of {runs} runs]" for what, n in found.items()]
    return "Not the paper's scale: " + "; ".join(parts)
