"""What SLURM's accounting says became of jobs that no longer run (`sacct`): the word
`python -m repro.status` puts next to a `lost` run (OUT_OF_MEMORY, CANCELLED, NODE_FAIL,
TIMEOUT, ...). Where accounting is not kept (no slurmdbd) or sacct is missing, nothing:
the run is still shown lost, from its stale claim (repro/launch/claims.py)."""
from __future__ import annotations

import shutil
import subprocess


def final_states(job_ids: list[str]) -> dict[str, str]:
    """job id -> SLURM's state word, for the ids accounting knows."""
    if not job_ids or shutil.which("sacct") is None:
        return {}
    try:
        out = subprocess.run(["sacct", "-n", "-P", "-X", "-o", "JobID,State",
                              "-j", ",".join(sorted(set(job_ids)))],
                             capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.SubprocessError):
        return {}
    if out.returncode != 0:
        return {}
    states = {}
    for line in out.stdout.splitlines():
        job, _, state = line.partition("|")
        if job and state:
            states[job.strip()] = state.split()[0]  # "CANCELLED by 0" -> CANCELLED
    return states
