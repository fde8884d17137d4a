"""Where a run came from: code version, packages, overrides, host, times."""
from __future__ import annotations

import os
import platform
import socket
import subprocess
from datetime import datetime, timezone
from importlib import metadata

from repro.core.paths import PROJECT_ROOT

PACKAGES = ("torch", "mmcv", "mmdet", "mmengine", "hydra-core", "omegaconf", "numpy",
            "submitit", "pycocotools")


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _git(*args: str) -> str | None:
    try:
        out = subprocess.run(["git", *args], cwd=PROJECT_ROOT, capture_output=True,
                             text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def git_state() -> dict:
    status = _git("status", "--porcelain", "--untracked-files=no")
    return {"commit": _git("rev-parse", "HEAD"),
            "dirty": None if status is None else bool(status)}


def versions() -> dict:
    found = {}
    for name in PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = None
    return found


def where() -> dict:
    """Host and scheduler identity: lets `status` say where a cell runs."""
    array, task = os.environ.get("SLURM_ARRAY_JOB_ID"), os.environ.get("SLURM_ARRAY_TASK_ID")
    # The id squeue and scancel take: <array>_<task> for an array task.
    job = f"{array}_{task}" if array and task else os.environ.get("SLURM_JOB_ID")
    return {"host": socket.gethostname(), "pid": os.getpid(), "slurm_job_id": job,
            "slurm_array_job_id": os.environ.get("SLURM_ARRAY_JOB_ID"),
            "slurm_array_task_id": os.environ.get("SLURM_ARRAY_TASK_ID")}


def provenance(overrides: list[str], started: str) -> dict:
    return {"git": git_state(), "packages": versions(), "python": platform.python_version(),
            "overrides": overrides, **where(), "started": started, "ended": None}
