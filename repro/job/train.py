"""Train and test one MMDetection config with mmengine's Runner, in this process."""
from __future__ import annotations

import os
import socket
import time

from mmengine.config import Config


def build_runner(mm: Config, threads: int | None = None):
    """mmengine's Runner for one run, isolated from other runs of the same process."""
    import torch
    from mmdet.utils import register_all_modules
    from mmengine.runner import Runner

    import repro.job.checkpointing  # noqa: F401 - registers WeightsOnlyCheckpointHook
    import repro.job.hooks  # noqa: F401 - registers RunRecordHook
    import repro.job.perturb  # noqa: F401 - registers PerturbInitHook (perturb_init=true)
    import repro.job.preemption  # noqa: F401 - registers SaveOnRequestHook
    import repro.job.resumable_loop  # noqa: F401 - registers the mid-epoch resumable loop
    import repro.job.tracking  # noqa: F401 - registers TrackerHook (trackers=, TensorBoard)
    import repro.mmdet.hcral  # noqa: F401 - registers the HCRAL losses, heads, EATSS (issue 7)

    if threads:
        torch.set_num_threads(int(threads))
    stand_in = mm.get("stand_in_backbone")
    if stand_in:  # the smoke backbone's pretrained file, trained here on first use
        from repro.mmdet.stand_in_backbone import StandIn

        StandIn.from_config(stand_in).ensure()
    register_all_modules(init_default_scope=True)
    # mmengine keys its logger, message hub and visualizer singletons by experiment
    # name (a timestamp by default): jobs of one sweep run in one process, often within
    # the same second, and must never share them.
    mm.experiment_name = f"run_{time.time_ns()}"
    mm.visualizer.name = mm.experiment_name  # mmdet's default name is 'visualizer'
    return Runner.from_cfg(mm)


def run_mmdet(mm: Config, threads: int | None = None,
              ranks: list | None = None) -> tuple[dict, int]:
    """Train, then evaluate the final model on the test split. Returns (metrics, iters).
    Distributed, `ranks` receives what each rank did (its process, iterations and data
    shard): the record's proof that every task of the job took part."""
    from repro.job.tracking import TrackerHook

    runner = build_runner(mm, threads)
    try:
        return _train_and_test(runner, ranks)
    finally:  # ended or failed, its trackers' runs are closed (TensorBoard's event file)
        for hook in runner.hooks:
            if isinstance(hook, TrackerHook):
                hook.close()


def _train_and_test(runner, ranks: list | None) -> tuple[dict, int]:
    from repro.job.hooks import RunRecordHook

    try:
        runner.train()
    finally:  # a run that fails keeps its per-iteration record up to the failure
        for hook in runner.hooks:
            if isinstance(hook, RunRecordHook):
                hook.flush()
    if ranks is not None and runner.distributed:
        from mmengine.dist import all_gather_object

        loader = runner.train_dataloader
        sampler = getattr(loader.batch_sampler, "sampler", loader.sampler)
        ranks.extend(all_gather_object({
            "rank": runner.rank, "host": socket.gethostname(), "pid": os.getpid(),
            "iters": runner.iter, "shard": [getattr(sampler, "rank", None),
                                            getattr(sampler, "world_size", None)]}))
    metrics = runner.test()
    return dict(metrics), runner.iter
