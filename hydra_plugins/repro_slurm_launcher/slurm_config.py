"""The schema of `hydra/launcher=slurm`: hydra-submitit-launcher's `submitit_slurm` plus
what a table needs (conf/hydra/launcher/slurm.yaml sets the values; the launcher is
slurm_launcher.py beside this file)."""
from dataclasses import dataclass, field
from typing import Any, Optional

from hydra.core.config_store import ConfigStore
from hydra_plugins.hydra_submitit_launcher.config import SlurmQueueConf


@dataclass
class ReproSlurmConf(SlurmQueueConf):
    _target_: str = "hydra_plugins.repro_slurm_launcher.slurm_launcher.SlurmArrayLauncher"
    # Per cell unless set: max(profile.gpus, 1) tasks; profile.gpus GPUs when the
    # profile's device is cuda (a Table 6 cell asks for 2, Tables 1-5 for 4).
    tasks_per_node: Optional[int] = None
    # Memory per task in GB (the job asks for it times its task count); mem_gb: per node.
    mem_gb_per_task: Optional[float] = None
    # false: submit and return (the jobs outlive this process; python -m repro.status);
    # true: wait for every job, then write the report as a local sweep does.
    wait: bool = False
    # Typed Any (the parent's are a dict and a list) so that they can interpolate the
    # profile's slurm block: Hydra's merge resolves container-typed interpolations early.
    additional_parameters: Any = field(default_factory=dict)
    setup: Any = None


ConfigStore.instance().store(group="hydra/launcher", name="repro_slurm_schema",
                             node=ReproSlurmConf, provider="repro")
