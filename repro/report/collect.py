"""Run folders -> one tidy pandas frame (a row per cell x seed found on disk).

Reads only the records (never a launcher), so it works during a sweep, after the shell
that launched it is gone, or on folders copied back from a cluster. No torch, no mmdet.

A record that cannot be trusted is kept, not dropped: an unreadable or absent
status.json is state `corrupt`, and so is a `done` run without a usable metrics.json
(a copy cut short, a disk that filled up); `problem` says which, so the report can list
the folders to look at. The files are read with the stdlib only and the frame is built
once, which keeps 10,000 records well under a second (scripts/benchmark_report.py).
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd

from repro.core import records
from repro.core.paths import project_path
from repro.table.spec import TableSpec

COLUMNS = ["profile", "table", "row", "column", "seed", "state", "reason", "metric",
           "value", "seconds", "run_dir", "problem", "host", "pid", "slurm_job_id",
           "started", "ended", "git_commit", "git_dirty", "overrides"]


def table_dir(spec: TableSpec, *, profile: str, sweeps_root: str | Path) -> Path:
    return project_path(sweeps_root) / profile / spec.id


def _read(path: str) -> tuple[dict | None, str | None]:
    """(object, None), or (None, 'missing' | 'unreadable')."""
    try:
        with open(path) as f:
            obj = json.load(f)
    except FileNotFoundError:
        return None, "missing"
    except (OSError, ValueError):
        return None, "unreadable"
    return (obj, None) if isinstance(obj, dict) else (None, "unreadable")


def _seed_dirs(cell_dir: str) -> list[tuple[int, str]]:
    try:
        entries = list(os.scandir(cell_dir))
    except OSError:
        return []
    found = [(int(e.name[4:]), e.path) for e in entries
             if e.name.startswith("seed") and e.name[4:].isdigit() and e.is_dir()]
    return sorted(found)


# metrics.json of a run whose score only the evaluation server can give (repro/job/submission.py).
AWAITING_SOURCE, AWAITING = "awaiting evaluation server", "awaiting server"


def _provenance(seed_dir: str) -> dict:
    """Which code and overrides produced the run (provenance.json); missing is allowed:
    a run folder copied without it still counts, its provenance unknown."""
    prov, _ = _read(os.path.join(seed_dir, records.PROVENANCE))
    git = (prov or {}).get("git") or {}
    overrides = (prov or {}).get("overrides")
    return {"git_commit": git.get("commit"), "git_dirty": git.get("dirty"),
            "overrides": " ".join(overrides) if isinstance(overrides, list) else None}


def read_record(seed_dir: str) -> dict:
    """One run's record as the report sees it: state, value, and what is wrong with it."""
    status, why = _read(os.path.join(seed_dir, records.STATUS))
    if status is None:
        return {"state": "corrupt", "problem": f"status.json {why}"}
    state = status.get("state")
    rec = {"state": state, "reason": status.get("reason"), "seconds": status.get("seconds"),
           **{k: status.get(k) for k in ("host", "pid", "slurm_job_id", "started", "ended")},
           **_provenance(seed_dir)}
    if state not in (records.DONE, records.FAILED, records.RUNNING):
        return {**rec, "state": "corrupt", "problem": f"status.json has state {state!r}"}
    if state == records.DONE:
        metrics, why = _read(os.path.join(seed_dir, records.METRICS))
        value = (metrics or {}).get("value")
        if (metrics or {}).get("source") == AWAITING_SOURCE and value is None:
            # A test-dev run (HCRAL Table 7): its detections file is written, the score
            # comes back from the evaluation server (python -m repro.enter).
            return {**rec, "state": AWAITING}
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            problem = (f"done without metrics.json ({why})" if metrics is None
                       else "done, but metrics.json has no numeric value")
            return {**rec, "state": "corrupt", "problem": problem}
        rec.update(metric=metrics.get("metric"), value=float(value))
    return rec


def collect(spec: TableSpec, *, profile: str, sweeps_root: str | Path) -> pd.DataFrame:
    base = table_dir(spec, profile=profile, sweeps_root=sweeps_root)
    rows = []
    if base.is_dir():
        for cell in spec.cells():
            for seed, seed_dir in _seed_dirs(os.path.join(base, cell.id)):
                rows.append({"profile": profile, "table": spec.name, "row": cell.row.id,
                             "column": cell.column.id, "seed": seed, "run_dir": seed_dir,
                             **read_record(seed_dir)})
    return pd.DataFrame(rows, columns=COLUMNS)
