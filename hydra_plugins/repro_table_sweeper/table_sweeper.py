"""`hydra/sweeper=table`: expand a paper table into cell x seed jobs for the launcher.

Hydra's glue only; the logic is in repro.sweep (expansion, skip-done, preflight) and
repro.report (the regenerated table). Selected by conf/config.yaml for every run.
"""

import logging
from dataclasses import dataclass
from typing import Any, List, Optional

from hydra.core.config_store import ConfigStore
from hydra.core.plugins import Plugins
from hydra.plugins.sweeper import Sweeper
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig, OmegaConf

log = logging.getLogger(__name__)


@dataclass
class TableSweeperConf:
    _target_: str = "hydra_plugins.repro_table_sweeper.table_sweeper.TableSweeper"
    # Jobs handed to the launcher at once (None: all pending cells in one batch; a
    # SLURM launcher turns a batch into one job array).
    max_batch_size: Optional[int] = None


ConfigStore.instance().store(group="hydra/sweeper", name="table", node=TableSweeperConf,
                             provider="repro")


class TableSweeper(Sweeper):
    def __init__(self, max_batch_size: Optional[int] = None) -> None:
        self.max_batch_size = max_batch_size
        self.config: Optional[DictConfig] = None
        self.hydra_context: Optional[HydraContext] = None
        self.launcher = None

    def setup(self, *, hydra_context: HydraContext, task_function: TaskFunction,
              config: DictConfig) -> None:
        self.config = config
        self.hydra_context = hydra_context
        self.launcher = Plugins.instance().instantiate_launcher(
            hydra_context=hydra_context, task_function=task_function, config=config)

    def sweep(self, arguments: List[str]) -> Any:
        from repro.commands.run import exit_on_user_error
        from repro.sweep.run import run_sweep

        return exit_on_user_error(run_sweep)(
            self.config, arguments, launcher=self._launcher(),
            compose=self._compose, max_batch_size=self.max_batch_size)

    def _launcher(self):
        """Hydra's configured launcher behind the sweep's protocol (repro/launch/launcher.py):
        SLURM job arrays for hydra/launcher=slurm, else workers on this machine."""
        from hydra_plugins.repro_slurm_launcher.slurm_launcher import (SlurmArrayLauncher,
                                                                       SlurmArrays)
        from repro.launch.local import LocalWorkers

        if isinstance(self.launcher, SlurmArrayLauncher):
            return SlurmArrays(self.launcher)
        return LocalWorkers(self.launcher)

    def _compose(self, overrides: List[str]) -> DictConfig:
        cfg = self.hydra_context.config_loader.load_sweep_config(self.config, overrides)
        OmegaConf.set_readonly(cfg, False)
        return cfg
