"""A job's own output (MMDetection's log, hook tables, COCO summaries, warnings) goes to
its run folder's `run.log`, not to the sweep's console.

The capture is at the file-descriptor level (1 and 2), so it also takes what C code and
pycocotools print and what loggers created earlier (Hydra's job logging) write to the
console; it is undone when the job ends, so a worker process that runs the next cell
starts clean. `verbose=true` turns it off: everything reaches the console as before.
Under the SLURM launcher there is no console: a job's output stays in submitit's log
(`.submitit/<job id>/`), where SLURM's and submitit's own messages are too.
"""
from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path

LOG = "run.log"


def log_name(rank: int = 0) -> str:
    return LOG if rank == 0 else f"run.rank{rank}.log"


class JobLog:
    """While open, fds 1 and 2 write to `path` (appending); `restart()` empties it."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._fd: int | None = None
        self._saved: list[int] = []

    def __enter__(self) -> "JobLog":
        self.path.parent.mkdir(parents=True, exist_ok=True)
        _flush()
        self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o666)
        self._saved = [os.dup(1), os.dup(2)]
        os.dup2(self._fd, 1)
        os.dup2(self._fd, 2)
        return self

    def restart(self) -> None:
        """A fresh start of the cell: drop an earlier attempt's log (appends go on at 0)."""
        if self._fd is not None:
            _flush()
            os.ftruncate(self._fd, 0)

    def __exit__(self, *exc) -> None:
        _flush()
        for fd, saved in zip((1, 2), self._saved):
            os.dup2(saved, fd)
            os.close(saved)
        os.close(self._fd)
        self._fd, self._saved = None, []


def _flush() -> None:
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()


def job_log(run_dir: Path, *, verbose: bool, slurm: bool, rank: int = 0):
    """The capture a job runs under: run.log in the local workers, none when verbose or
    under SLURM."""
    path = Path(run_dir) / log_name(rank)
    return _Uncaptured(path) if verbose or slurm else JobLog(path)


class _Uncaptured:
    """No capture; a fresh start still drops an earlier attempt's run.log."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __enter__(self) -> "_Uncaptured":
        return self

    def __exit__(self, *exc) -> None:
        pass

    def restart(self) -> None:
        self.path.unlink(missing_ok=True)
