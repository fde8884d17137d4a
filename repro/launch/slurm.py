"""`hydra/launcher=slurm`: a table's cells as SLURM job arrays, through submitit.

The launcher class lives where Hydra requires plugins to
(hydra_plugins/repro_slurm_launcher/slurm_launcher.py); this module holds what the sweep
and the jobs share with it. hydra-submitit-launcher's SlurmLauncher does the work: each
batch of cells becomes one `executor.map_array` (one sbatch of an array,
`array_parallelism` at a time), every job
runs Hydra's job (repro/job/run_cell.py) from the pickled launcher, and its
`checkpoint()` makes submitit requeue a preempted or timed-out job, which resumes the
cell in place from its last checkpoint. What this subclass adds:

- **the sweep's launcher protocol** (repro/launch/launcher.py, `SlurmArrays`): each
  cell's shape is the task and GPU count its own profile asks for (`Resources.of`), and
  the sweep sends each shape as its own batch, so one launch can hold 4-GPU and 2-GPU
  cells;
- **no waiting** (`wait: false`, the default): it returns once the arrays are queued,
  with their job ids; the run records say how the jobs fare (python -m repro.status);
- **a dry run first** (`check`): `sbatch --test-only` for each batch shape, so an
  unknown partition, account or QOS, or more GPUs than a node has, is refused before
  anything is written.
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess

from repro.core.errors import ReproError
from repro.launch.launcher import Resources


def dry_run(executor, resources: Resources, count: int) -> None:
    """Ask SLURM (`sbatch --test-only`) whether it would accept an array of `count` jobs
    from this submitit executor, queueing nothing; a refusal is the user's to fix."""
    from submitit.slurm.slurm import _make_sbatch_string

    script = _make_sbatch_string(command="true", folder=executor.folder,
                                 map_count=count if count > 1 else None,
                                 **executor._executor.parameters)
    out = subprocess.run(["sbatch", "--test-only"], input=script, capture_output=True,
                         text=True, timeout=60)
    if out.returncode != 0:
        said = " ".join(out.stderr.replace("sbatch: error:", "").split())
        raise ReproError(
            f"SLURM refuses a job of {resources.tasks} task(s) and {resources.gpus} "
            f"GPU(s) per node: {said}. Check hydra.launcher.partition, account, qos, "
            f"timeout_min, cpus_per_task, mem_gb_per_task and additional_parameters "
            f"(or the profile's slurm block); `sinfo -s` lists the partitions")


def require_sbatch() -> None:
    if shutil.which("sbatch") is None:
        raise ReproError("hydra/launcher=slurm needs SLURM's sbatch, which is not on this "
                         "machine's PATH: launch from a SLURM login node, or use the "
                         "default hydra/launcher=local")


def _calm() -> None:
    try:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGUSR2, signal.SIG_IGN)
    except ValueError:  # not the child's main thread: nothing was inherited there
        pass


_calmed = False


def calm_forked_children() -> None:
    """Processes this job forks (MMDetection's VOC evaluation pool, dataloader workers)
    inherit submitit's handlers: SIGTERM ignored, so `Pool.terminate()` hangs the job
    for ever; USR2 would make every child checkpoint and requeue. In a child, SIGTERM
    gets its default back and USR2 is ignored (the job's main process handles it)."""
    global _calmed
    if not _calmed:
        os.register_at_fork(after_in_child=_calm)
        _calmed = True
