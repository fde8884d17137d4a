"""Who trains a cell: one claim file per run folder, held by one launch.

A launch claims each cell it is about to start (repro/sweep/run.py) before submitting
it, and notes the SLURM job id once it has one; the job checks the claim when it starts
(a claim of its own launch, or a stale one, is its to take; a live claim of another
launch means another job trains this cell, and it leaves) and releases it when the cell
ends, done or failed. A preempted job exits without releasing: its requeued self keeps
the same SLURM job id and launch id, so it finds its own claim. Hence two launches of a
table at once never train the same cell twice.

A holder is live while SLURM still lists its job (pending, running, requeued), or while
its process on this host runs (same pid and start time, so a recycled pid does not
count). Anything else is stale, and the next launch takes the claim over. A holder that
cannot be checked from here (a process on another host, or a SLURM job where SLURM
cannot be asked) counts as live: the launch names the claim file to delete.

Read-check-write of a claim happens under an flock on the run folder's `.claim.lock`
(local disks and NFSv4; Lustre needs its `flock` mount option).
"""
from __future__ import annotations

import fcntl
import os
import shutil
import socket
import subprocess
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Iterable, Iterator

from repro.core import records

CLAIM, LOCK = "claim.json", ".claim.lock"
# squeue states in which a job may still run (or run again): its claim is live.
LIVE_SLURM_STATES = {"PENDING", "RUNNING", "CONFIGURING", "COMPLETING", "SUSPENDED",
                     "REQUEUED", "REQUEUE_HOLD", "REQUEUE_FED", "RESIZING", "SIGNALING",
                     "STAGE_OUT", "PREEMPTED", "STOPPED", "RESV_DEL_HOLD"}


def _process_start(pid: int) -> str | None:
    """The start time of a process on this host (clock ticks since boot), None if gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            stat = f.read()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[19]  # field 22, after the command in parentheses


def owner(launch_id: str, slurm_job_id: str | None = None) -> dict:
    """This process as a claim holder, for `launch_id`."""
    pid = os.getpid()
    return {"launch_id": launch_id, "host": socket.gethostname(), "pid": pid,
            "pid_start": _process_start(pid), "slurm_job_id": slurm_job_id,
            "since": datetime.now(timezone.utc).isoformat(timespec="seconds")}


def read(run_dir: Path) -> dict | None:
    return records.read_json(Path(run_dir) / CLAIM)


@contextmanager
def _locked(run_dir: Path) -> Iterator[None]:
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    with open(run_dir / LOCK, "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


class Liveness:
    """Is a claim's holder alive? SLURM is asked once per batch of job ids."""

    def __init__(self) -> None:
        self._slurm: dict[str, bool | None] = {}

    def prefetch(self, claims: Iterable[dict | None]) -> None:
        ids = {c["slurm_job_id"] for c in claims if c and c.get("slurm_job_id")}
        self._ask_slurm(sorted(ids - set(self._slurm)))

    def _ask_slurm(self, ids: list[str]) -> None:
        if not ids:
            return
        if shutil.which("squeue") is None:
            self._slurm.update({i: None for i in ids})
            return
        # One call for all ids; -r lists every array task on its own line.
        out = subprocess.run(["squeue", "-h", "-r", "-t", "all", "-o", "%i %T",
                              "-j", ",".join(ids)], capture_output=True, text=True, timeout=60)
        states = dict(line.split()[:2] for line in out.stdout.splitlines() if line.strip())
        for i in ids:
            if i in states:
                self._slurm[i] = states[i] in LIVE_SLURM_STATES
            elif out.returncode == 0 or "Invalid job id" in out.stderr:
                self._slurm[i] = False  # SLURM has forgotten it: long over
            else:
                self._slurm[i] = None  # SLURM could not be asked

    def __call__(self, claim: dict) -> bool | None:
        """True: live; False: stale; None: cannot be checked from here."""
        job = claim.get("slurm_job_id")
        if job:
            if job not in self._slurm:
                self._ask_slurm([job])
            return self._slurm[job]
        if claim.get("host") != socket.gethostname():
            return None
        start = _process_start(int(claim.get("pid") or 0))
        return start is not None and start == claim.get("pid_start")


def describe(claim: dict) -> str:
    where = f"SLURM job {claim['slurm_job_id']}" if claim.get("slurm_job_id") else \
        f"pid {claim.get('pid')} on {claim.get('host')}"
    return f"launch {claim.get('launch_id')} ({where}, since {claim.get('since')})"


def acquire(run_dir: Path, me: dict, live: Callable[[dict], bool | None],
            may_run: Callable[[], bool] = lambda: True) -> tuple[bool, dict | None]:
    """Take the cell's claim for `me` (an `owner()`): (True, None) when it is ours now,
    (False, holder) when another live (or uncheckable) holder has it, (False, None) when
    `may_run()` says no once the claim is held (e.g. the cell got done meanwhile)."""
    with _locked(run_dir):
        held = read(run_dir)
        if held and held.get("launch_id") != me["launch_id"] and live(held) is not False:
            return False, held
        if not may_run():
            if held and held.get("launch_id") == me["launch_id"]:
                (Path(run_dir) / CLAIM).unlink(missing_ok=True)
            return False, None
        keep = held.get("slurm_job_id") if held and held.get("launch_id") == me["launch_id"] \
            else None
        records.write_json(Path(run_dir) / CLAIM,
                           {**me, "slurm_job_id": me.get("slurm_job_id") or keep})
        return True, None


def note_job(run_dir: Path, launch_id: str, slurm_job_id: str) -> None:
    """Record the SLURM job that will train a cell this launch claimed (if still claimed)."""
    with _locked(run_dir):
        held = read(run_dir)
        if held and held.get("launch_id") == launch_id and not held.get("slurm_job_id"):
            records.write_json(Path(run_dir) / CLAIM, {**held, "slurm_job_id": slurm_job_id})


def release(run_dir: Path, launch_id: str) -> None:
    with _locked(run_dir):
        held = read(run_dir)
        if held and held.get("launch_id") == launch_id:
            (Path(run_dir) / CLAIM).unlink(missing_ok=True)
