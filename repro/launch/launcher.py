"""The contract between a sweep and whatever runs its jobs (repro/sweep/run.py).

A launcher says what one job of a cell asks for (`shape`), refuses a submission it could
not carry out before anything is written (`check`), and takes one batch of jobs of one
shape (`launch`), saying of each job what became of it (`Launched`). Two implement it:
`LocalWorkers` (repro/launch/local.py: Hydra's joblib workers on this machine, waiting
for the jobs) and `SlurmArrays` (hydra_plugins/repro_slurm_launcher: SLURM job arrays,
returning once they are queued).
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, Sequence


@dataclass(frozen=True)
class Resources:
    """What one job of a cell asks for: tasks (processes) and GPUs on its node."""
    tasks: int
    gpus: int

    @classmethod
    def of(cls, cfg) -> "Resources":
        """A cell's own ask, from its profile: one task per GPU (at least one), and the
        GPUs where the profile trains on CUDA."""
        gpus = int(cfg.profile.get("gpus") or 0)
        return cls(tasks=max(gpus, 1), gpus=gpus if cfg.profile.get("device") == "cuda" else 0)


ONE_PROCESS = Resources(tasks=1, gpus=0)


@dataclass(frozen=True)
class Launched:
    """What a launcher says of one job of a batch: queued (the SLURM job that will run
    it), or run (what the job returned: Hydra's JobReturn, whose `return_value` re-raises
    a job's own exception)."""
    slurm_job_id: str | None = None
    returned: Any = None


class Launcher(ABC):
    name: str    # how the console names it: "local" | "slurm"
    waits: bool  # launch() returns once its jobs have run (else once they are queued)

    def shape(self, cfg) -> Resources:
        """What one job of the cell composed as `cfg` asks of this launcher; jobs of one
        shape go out together."""
        return ONE_PROCESS

    def check(self, shapes: Sequence[tuple[Resources, int]]) -> None:
        """Refuse (a ReproError) what the launcher could not run: each (shape, count of
        jobs in its largest batch). Called before any claim or run folder is written."""

    @abstractmethod
    def launch(self, batch: Sequence[Sequence[str]], resources: Resources) -> list[Launched]:
        """Start one job per overrides list of `batch`, every one of shape `resources`;
        one `Launched` per job, in order."""
