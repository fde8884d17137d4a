"""Every outcome the harness can record or show for a run, named once.

A run's record (status.json, repro/core/records.py) says one of three states: `done`,
`running` or `failed` with a reason class. Two failure classes are results, not
breakdowns: `nan` (the loss diverged) and `overflow` (a balancer's weights overflowed),
the outcomes ALWA Table 4 prints in place of a number. Readers of the records add the
states a run can be in without a record of its own (`pending`, `queued`), or with one
they cannot use (`corrupt`, `awaiting server`, `missing`); the sweep's console, what a
job returned instead (`skipped`, `lost`).

Pure: no torch, no mmdet, so the report, the status command and the rules share it.
"""
from __future__ import annotations

import errno

from repro.core.errors import ReproError

# The states a record says (status.json "state").
DONE, FAILED, RUNNING = "done", "failed", "running"
RECORD_STATES = (DONE, FAILED, RUNNING)

# The reason class of a failed run (status.json "reason").
NAN = "nan"            # a non-finite loss or prediction: the run diverged
OVERFLOW = "overflow"  # a balancer's weight computation overflowed (DWA's exp)
OOM = "oom"            # out of (GPU or host) memory
TIMEOUT = "timeout"    # SLURM's time limit after the last requeue (profile.slurm.max_num_timeout)
HANG = "hang"          # a rank waited in a collective beyond profile.dist_timeout_s
DISK = "disk"          # the disk (or the quota) was full
CONFIG = "config"      # bad input found only inside the job (a ReproError)
ERROR = "error"        # anything else: a bug or a broken environment
FAILURE_CLASSES = (NAN, OVERFLOW, OOM, TIMEOUT, HANG, DISK, CONFIG, ERROR)
# The failures that are results: a table cell may hold them as the paper's value, and the
# report shows them as outcomes (worse than any number), not as missing data.
NAMED_OUTCOMES = (NAN, OVERFLOW)

# What a reader shows where a run has no usable record.
PENDING = "pending"                  # no record, nothing claimed it: a launch would run it
QUEUED = "queued"                    # no record yet, but a launch claimed it (SLURM queue)
CORRUPT = "corrupt"                  # a record that does not parse, or done without metrics
AWAITING_SERVER = "awaiting server"  # a test-dev run whose score comes from the server
MISSING = "missing"                  # a table cell with no run folder at all

# What a job returns to the sweep without writing a record, and what the sweep's console
# calls a job that neither wrote a record nor returned one.
SKIPPED = "skipped"  # the job found its cell done, or claimed by another live launch
LOST = "lost"        # the worker died, or the launcher returned nothing for it


def label(state: str, reason=None, problem=None) -> str:
    """A run's state as the commands show it: `failed(<reason>)`, `corrupt(<problem>)`,
    or the state itself (python -m repro.plan, python -m repro.status)."""
    if state == FAILED:
        return f"failed({reason or 'unknown'})"
    if state == CORRUPT:
        return f"corrupt({problem})"
    if state == LOST and problem:  # SLURM accounting's word: lost(OUT_OF_MEMORY)
        return f"lost({problem})"
    return state


class Diverged(RuntimeError):
    """Training stopped because the model diverged: recorded as failed, class `kind`."""

    def __init__(self, kind: str, detail: str) -> None:
        super().__init__(f"{kind}: {detail}")
        self.kind = kind


def failure_class(error: BaseException) -> str:
    """The reason class a failed run records for `error`."""
    # Diverged (a NaN loss) and BalancerOverflow (DWA's exp) say which outcome they are.
    if getattr(error, "kind", None) in NAMED_OUTCOMES:
        return error.kind
    if isinstance(error, ReproError):
        return CONFIG
    if type(error).__name__ == "UncompletedJobError":  # submitit: no requeue left
        return TIMEOUT
    if isinstance(error, OSError) and error.errno in (errno.ENOSPC, errno.EDQUOT):
        return DISK
    if is_collective_timeout(error):
        return HANG
    if "out of memory" in str(error).lower() or isinstance(error, MemoryError):
        return OOM
    return ERROR


def is_collective_timeout(error: BaseException) -> bool:
    """A rank waited in a collective past the process group's timeout (gloo, NCCL):
    torch.distributed's error types by name, or gloo's and NCCL's own messages."""
    text = str(error).lower()
    dist = any(k.__name__ in ("DistBackendError", "DistError") for k in type(error).__mro__)
    return (dist or "gloo" in text or "nccl" in text) and ("timed out" in text or "timeout" in text)
