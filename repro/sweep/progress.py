"""A launch's progress, read from the run records: one line per finished job.

While the launcher runs its jobs, a thread of the sweep process polls the status.json of
every job it launched (a stat per job per second; the file is read only when it
changed) and prints, as each job ends, its index and the total, cell and seed, outcome
(the metric, or the failure class with its error.log), its seconds, the running counts
and an estimate of the time left:

  [37/120] w0.25-0.50__voc_sgd_l1 seed0  done 43.20 mAP  17 s | 35 done, 2 failed | about 5 min left

A job the records never report (skipped because another launch holds it, or a worker
that died) is reported from what the launcher returned once it is done. The record is
the truth, as everywhere else (repro/records.py), so the lines are the same whichever
launcher waits for the jobs.
"""
from __future__ import annotations

import os
import threading
import time
from collections import Counter
from pathlib import Path

from repro.core import records
from repro.core.outcomes import LOST, SKIPPED
from repro.job.job_log import LOG
from repro.sweep.console import Console, say, shown_path
from repro.sweep.expand import Job

ERROR_LOG = "error.log"


def _stamp(run_dir: Path) -> tuple | None:
    """What tells a record written by this launch from the one before it."""
    status = records.read_status(run_dir)
    return None if status is None else (status.get("started"), status.get("ended"))


def duration(seconds: float) -> str:
    s = int(round(seconds))
    if s < 90:
        return f"{s} s"
    if s < 5400:
        return f"{round(s / 60)} min"
    return f"{s // 3600} h {round(s % 3600 / 60):02d} min"


class Progress:
    def __init__(self, jobs: list[Job], *, bar: bool = False, clock=time.monotonic) -> None:
        self.jobs = list(jobs)
        self.clock = clock
        self.start = clock()
        self.before = {j.run_dir: _stamp(j.run_dir) for j in self.jobs}
        self.seen: dict[Path, int] = {}  # status.json's mtime when last read
        self.reported: set[Path] = set()
        self.counts: Counter = Counter()
        self.reasons: Counter = Counter()
        self.failed: list[Path] = []
        self.console = Console(len(self.jobs), bar)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # --- watching ---------------------------------------------------------------------

    def __enter__(self) -> "Progress":
        self.console.__enter__()
        self._thread = threading.Thread(target=self._watch, name="repro-progress", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self.poll()  # what ended between the last poll and the launcher's return
        self.console.__exit__(*exc)

    def _watch(self, every: float = 1.0) -> None:
        while not self._stop.wait(every):
            self.poll()
            with self._lock:
                self.console.tick()

    def poll(self) -> None:
        for job in self.jobs:
            if job.run_dir in self.reported:
                continue
            try:
                mtime = os.stat(job.run_dir / records.STATUS).st_mtime_ns
            except OSError:
                continue
            if self.seen.get(job.run_dir) == mtime:
                continue
            self.seen[job.run_dir] = mtime
            status = records.read_status(job.run_dir) or {}
            if status.get("state") in (records.DONE, records.FAILED) and \
                    (status.get("started"), status.get("ended")) != self.before[job.run_dir]:
                self.report(job, status)

    def settle(self, returned: list[tuple[Job, object]]) -> None:
        """After the launcher returned: the jobs no record reported, from what it
        returned for them (a skip, a job that raised, or nothing at all)."""
        for job, result in returned:
            if job.run_dir in self.reported:
                continue
            try:
                value = getattr(result, "return_value", None)
            except Exception as e:  # noqa: BLE001 - Hydra re-raises a job's own exception
                value = {"state": LOST, "reason": f"{type(e).__name__}: {e}"}
            self.report(job, value if isinstance(value, dict) else {"state": LOST})
        for job in self.jobs:
            if job.run_dir not in self.reported:
                self.report(job, {"state": LOST})

    # --- the lines ----------------------------------------------------------------------

    def report(self, job: Job, status: dict) -> None:
        with self._lock:
            if job.run_dir in self.reported:
                return
            self.reported.add(job.run_dir)
            state = status.get("state")
            kind = state if state in (records.DONE, records.FAILED, SKIPPED) else LOST
            self.counts[kind] += 1
            if kind == records.FAILED:
                self.reasons[status.get("reason", "unknown")] += 1
                self.failed.append(job.run_dir)
            n = len(self.reported)
            counts = self.tally()
            line = (f"[{n}/{len(self.jobs)}] {job.cell.id} seed{job.seed}  "
                    f"{self.outcome(job, status)} | {counts}")
            left = len(self.jobs) - n
            if left:
                line += f" | about {duration((self.clock() - self.start) / n * left)} left"
            say(line)
            self.console.advance(counts)

    def outcome(self, job: Job, status: dict) -> str:
        state, took = status.get("state"), status.get("seconds")
        took = f"  {took:.0f} s" if isinstance(took, (int, float)) else ""
        if state == records.DONE:
            metrics = records.read_json(job.run_dir / records.METRICS) or {}
            value = metrics.get("value")
            if isinstance(value, (int, float)):
                return f"done {value:.2f} {metrics.get('metric', '')}".rstrip() + took
            if metrics.get("submission"):  # test-dev: the evaluation server scores it
                return f"done, awaiting the evaluation server ({metrics['submission']}){took}"
            return f"done (no metric in metrics.json){took}"
        if state == records.FAILED:
            reason = status.get("reason", "unknown")
            message = " ".join(str(status.get("message") or "").split())
            message = message.removeprefix(f"{reason}: ")  # Diverged says "nan: ..." itself
            message = f": {message[:90]}{'...' if len(message) > 90 else ''}" if message else ""
            return (f"FAILED ({reason}{message}){took}, see "
                    f"{shown_path(job.run_dir / ERROR_LOG)}")
        if state == SKIPPED:
            return f"skipped ({status.get('reason', 'not run')})"
        return (f"no record ({status.get('reason') or 'the job ended without writing one'}), "
                f"see {shown_path(job.run_dir / LOG)}")

    def tally(self) -> str:
        parts = [f"{self.counts[records.DONE]} done", f"{self.counts[records.FAILED]} failed"]
        parts += [f"{self.counts[k]} {k}" for k in (SKIPPED, LOST) if self.counts[k]]
        return ", ".join(parts)

    def closing(self) -> list[str]:
        """How the launch ended: counts (failures by class), its time, the failures' logs."""
        reasons = ", ".join(f"{r} {n}" for r, n in sorted(self.reasons.items()))
        n = len(self.reported)
        took = duration(self.clock() - self.start)
        # Every count, zeros too: done, failed (by class), skipped, and lost (ended
        # without a record: the worker died, or the launcher returned nothing).
        counts = (f"{self.counts[records.DONE]} done, {self.counts[records.FAILED]} failed"
                  + (f" ({reasons})" if reasons else "")
                  + f", {self.counts[SKIPPED]} skipped, {self.counts[LOST]} lost")
        lines = [f"finished {n} job{'s' if n != 1 else ''} in {took}: {counts}"]
        if self.failed:
            shown = ", ".join(shown_path(d / ERROR_LOG) for d in self.failed[:3])
            more = f" and {len(self.failed) - 3} more" if len(self.failed) > 3 else ""
            lines.append(f"failed: {shown}{more}")
        return lines
