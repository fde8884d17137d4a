"""What SLURM's accounting says became of jobs that no longer run (`sacct`): the word
`python -m repro.status` puts next to a `lost` run (OUT_OF_MEMORY, CANCELLED, NODE_FAIL,
TIMEOUT, ...). The run is lost because its claim is stale (repro/launch/claims.py);
accounting only names how its job ended, so where it says nothing (no slurmdbd:
"Slurm accounting storage is disabled"; slurmdbd down; sacct missing; a job it does not
know, or one it still calls RUNNING, PENDING or REQUEUED) the run is shown `lost`
without a word, never as something else.

sacct is asked once for all ids, with the job steps (`-P`: `--parsable2`, fields split by
`|`; `-n`: no header): a job's word is its allocation's final state, except that a step
that ran out of memory names the job OUT_OF_MEMORY (the allocation may say FAILED or
CANCELLED for the same kill). With `-j`, sacct searches from the Epoch and returns the
most recent record of each id (a requeued job's last run).
"""
from __future__ import annotations

import shutil
import subprocess

# The states sacct gives a job that has ended (man sacct, JOB STATE CODES). Not among
# them: PENDING, RUNNING, REQUEUED, RESIZING, SUSPENDED (the job is not over).
FINAL = frozenset({"BOOT_FAIL", "CANCELLED", "COMPLETED", "DEADLINE", "FAILED", "NODE_FAIL",
                   "OUT_OF_MEMORY", "PREEMPTED", "REVOKED", "TIMEOUT"})
OOM = "OUT_OF_MEMORY"


def sacct_command(job_ids: list[str]) -> list[str]:
    return ["sacct", "-n", "-P", "-o", "JobID,State", "-j", ",".join(sorted(set(job_ids)))]


def parse(stdout: str) -> dict[str, str]:
    """job id -> the word for how it ended, from `sacct -n -P -o JobID,State` output:
    lines `4_1|CANCELLED by 0`, `4_1.batch|CANCELLED`, `5|FAILED`, `5.batch|OUT_OF_MEMORY`,
    `6_[2-5]|PENDING` (array tasks not started yet: no word)."""
    allocation: dict[str, str] = {}
    oom: set[str] = set()
    for line in stdout.splitlines():
        job, _, state = line.strip().partition("|")
        words = state.split()
        if not job or not words:
            continue
        word = words[0].rstrip("+")  # "CANCELLED by 0" -> CANCELLED
        base, dot, _step = job.partition(".")
        if dot:
            if word == OOM:
                oom.add(base)
        else:
            allocation[base] = word
    return {job: OOM if job in oom else word for job, word in allocation.items()
            if word in FINAL}


def final_states(job_ids: list[str]) -> dict[str, str]:
    """job id -> SLURM's word for how it ended, for the ids accounting knows as ended;
    {} where sacct is missing or cannot answer (accounting disabled, slurmdbd down)."""
    if not job_ids or shutil.which("sacct") is None:
        return {}
    try:
        out = subprocess.run(sacct_command(job_ids), capture_output=True, text=True,
                             timeout=60)
    except (OSError, subprocess.SubprocessError):
        return {}
    if out.returncode != 0:  # "Slurm accounting storage is disabled", "Problem talking..."
        return {}
    return parse(out.stdout)
