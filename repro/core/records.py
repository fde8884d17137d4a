"""A run's record: status.json, metrics.json, provenance.json, written atomically.

The record is the truth about a run (not the launcher, not SLURM): `done`, `failed`
with a reason class, or `running` (repro/core/outcomes.py names every outcome). Readers never see a half-written file because every
write goes to a temporary file in the same folder and is renamed into place.
"""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from repro.core.outcomes import DONE, FAILED, RUNNING  # noqa: F401 - the record's states

STATUS, METRICS, PROVENANCE = "status.json", "metrics.json", "provenance.json"

_UMASK = os.umask(0)
os.umask(_UMASK)


def write_json(path: Path, obj: Any) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        os.fchmod(fd, 0o666 & ~_UMASK)  # mkstemp makes 0600; records are shared reading
        with os.fdopen(fd, "w") as f:
            json.dump(obj, f, indent=2, sort_keys=True, default=str)
            f.write("\n")
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def read_json(path: Path) -> dict | None:
    """The parsed file, or None where it is missing or unreadable."""
    try:
        with open(path) as f:
            obj = json.load(f)
    except (OSError, ValueError):
        return None
    return obj if isinstance(obj, dict) else None


def read_status(run_dir: Path) -> dict | None:
    return read_json(Path(run_dir) / STATUS)


def is_done(run_dir: Path) -> bool:
    status = read_status(run_dir)
    return bool(status) and status.get("state") == DONE
