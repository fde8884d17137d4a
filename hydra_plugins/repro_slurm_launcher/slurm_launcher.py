"""`hydra/launcher=slurm` (conf/hydra/launcher/slurm.yaml): hydra-submitit-launcher's
SlurmLauncher, sizing each batch's jobs, checking with SLURM first, and not waiting.

Hydra requires launcher classes inside hydra_plugins; what the sweep and jobs share with
it is in repro/launch/slurm.py (see there for the whole picture).
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Sequence

from hydra.core.singleton import Singleton
from hydra.core.utils import filter_overrides
from hydra_plugins.hydra_submitit_launcher.config import BaseQueueConf
from hydra_plugins.hydra_submitit_launcher.submitit_launcher import SlurmLauncher
from omegaconf import OmegaConf

from repro.core.errors import ReproError
from repro.launch.launcher import Launched, Launcher, Resources
from repro.launch.slurm import dry_run, require_sbatch
from repro.sweep.console import say

log = logging.getLogger("repro.launch")


class SlurmArrayLauncher(SlurmLauncher):
    def __init__(self, wait: bool = False, mem_gb_per_task: float | None = None,
                 **params: Any) -> None:
        super().__init__(**params)
        self.wait = bool(wait)
        self.mem_gb_per_task = mem_gb_per_task

    # --- what the sweep asks of a launcher (SlurmArrays, below) -----------------------

    def check(self, shapes: Sequence[tuple[Resources, int]]) -> None:
        """Ask SLURM whether it would accept each (resources, array size), queueing nothing."""
        require_sbatch()
        for resources, count in shapes:
            try:
                executor = self._executor(resources)
            except (TypeError, ValueError) as e:
                raise ReproError(f"hydra/launcher=slurm: {e}") from None
            dry_run(executor, resources, count)

    def launch(self, job_overrides: Sequence[Sequence[str]], initial_job_idx: int) -> list:
        """Hydra's own call (a plain multirun): every job of the composed config's shape."""
        assert self.config is not None
        return self.submit(job_overrides, initial_job_idx, Resources.of(self.config))

    def submit(self, job_overrides: Sequence[Sequence[str]], initial_job_idx: int,
               resources: Resources) -> list[Launched]:
        """One job array of `resources`-sized jobs; waits for them only with wait: true."""
        assert self.config is not None and len(job_overrides) > 0
        executor = self._executor(resources)
        Path(str(self.config.hydra.sweep.dir)).mkdir(parents=True, exist_ok=True)
        state = Singleton.get_state()
        calls = []
        for idx, overrides in enumerate(job_overrides, start=initial_job_idx):
            log.debug("#%d : %s", idx, " ".join(filter_overrides(overrides)))
            calls.append((list(overrides), "hydra.sweep.dir", idx, f"job_id_for_{idx}", state))
        jobs = executor.map_array(self, *zip(*calls))
        first = jobs[0].job_id.split("_")[0]
        say(f"submitted {len(jobs)} cell(s) as SLURM job{' array' if len(jobs) > 1 else ''} "
            f"{first} ({resources.tasks} task(s), {resources.gpus} GPU(s) each; at most "
            f"{self.params['array_parallelism']} at a time)")
        if self.wait:
            return [Launched(returned=j.results()[0]) for j in jobs]
        return [Launched(slurm_job_id=j.job_id) for j in jobs]

    # --- parameters -------------------------------------------------------------------

    def _executor(self, resources: Resources):
        """A submitit SLURM executor for jobs of `resources` (creates no folder)."""
        import submitit

        p = {k: v for k, v in self.params.items()
             if k not in ("submitit_folder", "max_num_timeout")}
        if p["tasks_per_node"] is None:
            p["tasks_per_node"] = resources.tasks
        if p["gpus_per_node"] is None:
            p["gpus_per_node"] = resources.gpus or None
        if self.mem_gb_per_task is not None:
            p["mem_gb"] = float(self.mem_gb_per_task) * p["tasks_per_node"]
        executor = submitit.AutoExecutor(folder=self.params["submitit_folder"], cluster="slurm",
                                         slurm_max_num_timeout=self.params["max_num_timeout"])
        base = set(OmegaConf.structured(BaseQueueConf).keys())
        executor.update_parameters(**{k if k in base else f"slurm_{k}": v for k, v in p.items()})
        return executor


class SlurmArrays(Launcher):
    """The sweep's launcher protocol (repro/launch/launcher.py) on SLURM job arrays."""

    name = "slurm"

    def __init__(self, hydra_launcher: SlurmArrayLauncher) -> None:
        self._hydra = hydra_launcher
        self.waits = hydra_launcher.wait
        self._next = 0  # Hydra numbers a sweep's jobs across its batches

    def shape(self, cfg) -> Resources:
        return Resources.of(cfg)

    def check(self, shapes: Sequence[tuple[Resources, int]]) -> None:
        self._hydra.check(shapes)

    def launch(self, batch: Sequence[Sequence[str]], resources: Resources) -> list[Launched]:
        out = self._hydra.submit(batch, self._next, resources)
        self._next += len(batch)
        return out
