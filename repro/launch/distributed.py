"""A cell's job as several processes: one SLURM task per GPU (or CPU process with gloo).

Under `hydra/launcher=slurm` a cell is one job of `max(profile.gpus, 1)` tasks; submitit
starts the same callable in every task (srun). This module reads the task's place from
SLURM's environment and exports what torch's env:// rendezvous and mmengine's 'slurm'
launcher read (MASTER_ADDR, MASTER_PORT, RANK, WORLD_SIZE, LOCAL_RANK). The port is
derived from the SLURM job id, so concurrent jobs on one node never share mmengine's
default 29500 (methods.md section 6), and a requeued job (same id) gets the same one.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import timedelta

PORT_BASE, PORT_SPAN = 20000, 40000


@dataclass(frozen=True)
class Task:
    rank: int
    world: int
    local_rank: int
    job_id: str
    master_addr: str

    @property
    def port(self) -> int:
        return rendezvous_port(self.job_id)


def rendezvous_port(job_id: str) -> int:
    """20000 + job id mod 40000: distinct for any 40000 consecutive SLURM jobs."""
    return PORT_BASE + int(str(job_id).split("_")[0]) % PORT_SPAN


def slurm_task() -> Task | None:
    """This process's place in a multi-task job submitted by the SLURM launcher; None
    when the cell runs as one process (any launcher)."""
    env = os.environ
    if env.get("SUBMITIT_EXECUTOR") != "slurm" or "SLURM_PROCID" not in env:
        return None
    world = int(env.get("SLURM_NTASKS", "1"))
    if world < 2:
        return None
    import submitit  # its node-list parsing names the first host of the job

    return Task(rank=int(env["SLURM_PROCID"]), world=world,
                local_rank=int(env.get("SLURM_LOCALID", "0")), job_id=env["SLURM_JOB_ID"],
                master_addr=submitit.JobEnvironment().hostnames[0])


def export(task: Task) -> None:
    os.environ.update(MASTER_ADDR=task.master_addr, MASTER_PORT=str(task.port),
                      RANK=str(task.rank), WORLD_SIZE=str(task.world),
                      LOCAL_RANK=str(task.local_rank))


def start(task: Task, device: str, timeout_s: float | None = None) -> None:
    """Join the job's process group before the runner exists (the tasks agree on resume
    first); mmengine's Runner then finds it initialised. GPUs: mmengine's own 'slurm'
    initialisation (NCCL, one device per local rank); CPU: gloo over env://.

    `timeout_s` (profile.dist_timeout_s) bounds how long a rank waits in a collective: a
    rank that stopped (a hung dataloader, a dead GPU) makes the others raise after it,
    and the job records `failed/hang` instead of holding the allocation to its time
    limit. NCCL raises in the waiting call only with blocking wait (otherwise its
    watchdog aborts the process, and nothing is recorded)."""
    import torch.distributed as dist

    export(task)
    if dist.is_initialized():
        return
    timeout = {} if not timeout_s else {"timeout": timedelta(seconds=float(timeout_s))}
    if device == "cuda":
        from mmengine.dist import init_dist

        if timeout:
            os.environ.setdefault("TORCH_NCCL_BLOCKING_WAIT", "1")
        init_dist("slurm", backend="nccl", port=task.port,
                  **({"timeout": float(timeout_s)} if timeout else {}))
    else:  # mmengine's slurm path calls torch.cuda.set_device, absent on CPU builds
        dist.init_process_group("gloo", init_method="env://", rank=task.rank,
                                world_size=task.world, **timeout)


def broadcast(value, task: Task | None):
    """Rank 0's `value` on every rank (the value itself without a group)."""
    if task is None:
        return value
    import torch.distributed as dist

    box = [value]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def gather(value, task: Task | None) -> list:
    if task is None:
        return [value]
    import torch.distributed as dist

    out = [None] * task.world
    dist.all_gather_object(out, value)
    return out


def stop(task: Task | None) -> None:
    if task is None:
        return
    import torch.distributed as dist

    if dist.is_initialized():
        dist.destroy_process_group()
