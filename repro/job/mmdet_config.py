"""Compose one cell's MMDetection config from the Hydra groups.

Start from the detector's shipped MMDetection config for the dataset family, then apply,
in order, the deltas each group stands for: the detector entry's own (`model_deltas`),
dataset (split, schedule, where the data is), regression loss, HCRAL's heads and losses
(repro/job/loss_config.py), the balancer (repro/job/balancer_config.py), optimizer,
schedule, the profile's scale (repro/job/profile_scale.py), per-sample seeds for the
random transforms (repro/job/sample_seeds.py), and the run's own runtime settings. Each delta is a small function; each config entry documents why it differs
from MMDetection's default, and tests/config_deltas.py checks that nothing else does.
"""
from __future__ import annotations

import copy
import fnmatch
import functools
import os
from pathlib import Path

from mmengine.config import Config
from omegaconf import DictConfig, OmegaConf

from repro.core.paths import project_path
from repro.data.synthetic import SPECS, ensure_dataset
from repro.job.balancer_config import apply_balancer
from repro.job.config_paths import model_part as _head
from repro.job.loss_config import apply_hcral
from repro.job.profile_scale import apply_profile_scale, images_per_gpu
from repro.job.sample_seeds import apply_sample_seeds
from repro.job.tracking import tracker_hook


def _dataset_root_and_classes(cfg: DictConfig) -> tuple[Path, tuple[str, ...] | None]:
    if cfg.profile.synthetic:
        root = ensure_dataset(cfg.dataset.family, project_path(cfg.profile.data_root))
        return root, SPECS[cfg.dataset.family].classes
    return project_path(cfg.profile.data_root) / cfg.dataset.paper_path, None


def apply_model_deltas(mm: Config, cfg: DictConfig) -> None:
    """A detector entry's own changes to the shipped config of a family, e.g. the R101
    backbone on MMDetection's R50 VOC config (it ships no R101 one)."""
    deltas = (cfg.detector.get("model_deltas") or {}).get(cfg.dataset.family) or {}
    for dotted, value in deltas.items():
        parent, _, leaf = dotted.rpartition(".")
        node = _head(mm, parent) if parent else mm.model
        node[leaf] = OmegaConf.to_object(value) if OmegaConf.is_config(value) else value


def apply_dataset(mm: Config, cfg: DictConfig) -> None:
    ds = cfg.dataset
    root, classes = _dataset_root_and_classes(cfg)
    train = mm.train_dataloader.dataset
    if ds.family == "voc":
        # Stock: RepeatDataset(x3, ConcatDataset([VOC2007 trainval, VOC2012 trainval])).
        train.times = ds.repeat
        train.dataset.datasets = [d for d in train.dataset.datasets
                                  if d.data_prefix.sub_data_root.rstrip("/") in ds.train_sets]
        leaves = list(train.dataset.datasets)
        test = mm.test_dataloader.dataset
        test.ann_file = f"{ds.test_set}/ImageSets/Main/test.txt"
        test.data_prefix = dict(sub_data_root=f"{ds.test_set}/")
    else:
        if ds.repeat > 1:
            mm.train_dataloader.dataset = dict(type="RepeatDataset", times=ds.repeat, dataset=train)
        leaves = [train]
        test = mm.test_dataloader.dataset
        mm.test_evaluator.ann_file = str(root / "annotations/instances_val2017.json")
    for d in (*leaves, test):
        d.data_root = str(root) + "/"
        if classes is not None:
            d.metainfo = dict(classes=classes)
    for head in cfg.detector.class_heads:
        _head(mm, head).num_classes = len(classes) if classes is not None else ds.num_classes
    # Evaluate once, on the test split, after training (the paper reports the final
    # model); no validation passes during training.
    mm.val_dataloader = mm.val_cfg = mm.val_evaluator = None


def apply_reg_loss(mm: Config, cfg: DictConfig) -> None:
    loss = OmegaConf.to_container(cfg.reg_loss.loss)
    for path in cfg.detector.reg_heads:
        head = _head(mm, path)
        head.loss_bbox = dict(loss, loss_weight=cfg.reg_loss.roi_loss_weight
                              if path != cfg.detector.anchor_head else loss["loss_weight"])
        head.reg_decoded_bbox = bool(cfg.reg_loss.decoded)


def _detector_tuning(cfg: DictConfig) -> dict:
    """The profile's adjustments for this detector (smoke: conf/profile/smoke.yaml)."""
    tuning = cfg.profile.get("detector_tuning")
    tuning = OmegaConf.to_container(tuning) if tuning else {}
    return next((t for pattern, t in tuning.items()
                 if fnmatch.fnmatchcase(cfg.detector.name, pattern)), {})


def apply_optimizer(mm: Config, cfg: DictConfig) -> None:
    opt, tuning = cfg.optimizer, _detector_tuning(cfg)
    lr = opt.lr * cfg.profile.get("lr_scale", {}).get(opt.type, 1.0)
    lr *= tuning.get("lr_scale", {}).get(opt.type, 1.0)
    params = dict(type=opt.type, lr=lr, weight_decay=opt.weight_decay)
    if "momentum" in opt:
        params["momentum"] = opt.momentum
    # Gradient clipping: the optimizer entry's if it sets one, else the profile's for this
    # detector, else the detector's shipped config's (some detectors clip, e.g. Libra).
    shipped = dict(mm.get("optim_wrapper") or {})
    clip = OmegaConf.to_container(opt.grad_clip) if opt.grad_clip else \
        tuning.get("clip_grad") or shipped.get("clip_grad")
    # Merged into the shipped wrapper: the optimizer entry sets the optimizer (its type,
    # LR, momentum, decay) and the clipping above; everything else the shipped config
    # has stays, e.g. VFNet's paramwise_cfg (bias LR x2, no decay on biases), the base
    # of HCRAL's FCOS+ATSS detectors. Nothing shipped is dropped.
    mm.optim_wrapper = dict(shipped, type=shipped.get("type", "OptimWrapper"),
                            optimizer=params, clip_grad=clip)


def apply_schedule(mm: Config, cfg: DictConfig) -> None:
    ds, p = cfg.dataset, cfg.profile
    if "iters" in p:  # the smoke profile: the 1x shape, counted in iterations
        n = int(p.iters)
        mm.train_cfg = dict(type="IterBasedTrainLoop", max_iters=n, val_interval=n + 1)
        mm.log_processor = dict(type="LogProcessor", window_size=10, by_epoch=False)
        # mmengine's iteration loop sleeps 2 s at every pass over the data ("prevent
        # possible deadlock"): repeat the small synthetic set so one pass covers the run.
        if p.synthetic:
            n_train = SPECS[ds.family].n_train
            passes = -(-n * p.images_per_gpu // n_train)
            train = mm.train_dataloader.dataset
            if train.type == "RepeatDataset":
                train.times = max(train.times, passes)
            elif passes > 1:
                mm.train_dataloader.dataset = dict(type="RepeatDataset", times=passes, dataset=train)
        # The warm-up's start: the profile's (smoke: 0.001), else the config's own (the
        # shipped 0.001, or HCRAL's warm-up ratio 0.1: a rehearsal keeps the paper's).
        start = p.get("warmup_start") or next(
            (s.start_factor for s in mm.param_scheduler if s.type == "LinearLR"), 0.001)
        mm.param_scheduler = [
            dict(type="LinearLR", start_factor=start, by_epoch=False, begin=0, end=p.warmup),
            dict(type="MultiStepLR", by_epoch=False, begin=0, end=n, gamma=0.1,
                 milestones=[round(n * m / ds.epochs) for m in ds.milestones])]
    else:
        # mmengine's epoch loop, resuming mid-epoch after the batches a preempted job
        # trained (repro/job/resumable_loop.py; same data order, same LR steps).
        mm.train_cfg = dict(type="ResumableEpochBasedTrainLoop", max_epochs=ds.epochs,
                            val_interval=ds.epochs + 1)
        loader = mm.train_dataloader
        loader.batch_sampler = dict(type="ResumableBatchSampler",
                                    inner=loader.get("batch_sampler"))
        for s in mm.param_scheduler:
            if s.type == "MultiStepLR":
                s.end, s.milestones = ds.epochs, list(ds.milestones)


def apply_runtime(mm: Config, cfg: DictConfig, work_dir: Path) -> None:
    mm.work_dir = str(work_dir)
    mm.randomness = dict(seed=int(cfg.seed), deterministic=False)
    # Log every 10 (smoke) or 50 (paper) iterations; a shorter run (a rehearsal) at its end.
    interval = 10 if cfg.profile.synthetic else 50
    mm.default_hooks.logger.interval = min(interval, int(cfg.profile.iters)) \
        if "iters" in cfg.profile else interval
    # Checkpoints every `checkpoint` iterations (smoke) or epochs (paper); null: none.
    every = cfg.profile.checkpoint
    if not every and cfg.get("keep_weights"):
        # keep_weights=true keeps the final model (run_cell.py reads it from the last
        # checkpoint): without periodic checkpoints, one at the end of training.
        every = int(cfg.profile.iters) if "iters" in cfg.profile else int(cfg.dataset.epochs)
    mm.default_hooks.checkpoint = dict(type="CheckpointHook", by_epoch="iters" not in cfg.profile,
                                       interval=int(every), save_last=True) if every else None
    mm.default_hooks.visualization = dict(type="DetVisualizationHook", draw=False)
    from repro.launch.distributed import slurm_task

    task = slurm_task()  # a multi-task SLURM job (hydra/launcher=slurm), else None
    # Every rank records its own losses: rank 0 the run's scalars.jsonl, rank k
    # scalars.rank<k>.jsonl beside it (its shard's losses: proof that it trained).
    record = "scalars.jsonl" if task is None or task.rank == 0 else f"scalars.rank{task.rank}.jsonl"
    mm.custom_hooks = [*mm.get("custom_hooks", []),
                       dict(type="RunRecordHook", path=str(work_dir.parent / record)),
                       dict(type="WeightsOnlyCheckpointHook"),
                       # a checkpoint on SLURM's requeue signal and every
                       # profile.checkpoint_minutes; one checkpoint kept (preemption.py)
                       dict(type="SaveOnRequestHook",
                            every_minutes=cfg.profile.get("checkpoint_minutes"))]
    if cfg.get("perturb_init"):  # the noise benchmark's rounding-sized nudge (repro/job/perturb.py)
        mm.custom_hooks.append(dict(type="PerturbInitHook"))
    tracking = tracker_hook(cfg, work_dir.parent)  # TensorBoard & co. (repro/job/tracking.py)
    if tracking:
        mm.custom_hooks.append(tracking)
    mm.visualizer.vis_backends = [dict(type="LocalVisBackend")]
    mm.env_cfg.cudnn_benchmark = False
    # The optimizer entries' LRs are the paper's for the paper's batch of this table
    # (ALWA 4 GPUs x 2 = 8, its Table 6 2 x 4; HCRAL 8 x 2 = 16: repro/table/paper_scale.py),
    # so MMDetection's linear scaling gives any other batch (profile.gpus=2, a job on
    # fewer processes, a rehearsal on one CPU) the paper's LR per image. A profile with
    # `lr_batch: own` (smoke: its LRs are tuned for its own batch) scales from its own.
    p = cfg.profile
    if p.get("lr_batch", "paper") == "paper":
        from repro.table.paper_scale import paper_scale

        fixed = cfg.table.get("fixed_by_profile") if cfg.get("table") else None
        base = paper_scale(OmegaConf.to_container(fixed) if fixed else None).batch
    else:
        base = max(p.gpus, 1) * images_per_gpu(p)
    mm.auto_scale_lr = dict(enable=True, base_batch_size=base)
    if task is not None:
        # One task per GPU, set up from SLURM's environment (repro/launch/distributed.py
        # joins the group first, with a rendezvous port derived from the job id); on CPU
        # gloo, and DDP without device ids (mmengine's default passes LOCAL_RANK as one).
        mm.launcher = "slurm"
        cuda = cfg.profile.get("device") == "cuda"
        mm.env_cfg.dist_cfg = dict(backend="nccl" if cuda else "gloo", port=task.port)
        if not cuda:
            mm.model_wrapper_cfg = dict(type="MMDistributedDataParallel", device_ids=None,
                                        broadcast_buffers=False, find_unused_parameters=False)
        return
    world = int(os.environ.get("WORLD_SIZE", "1"))  # torchrun on one machine
    mm.launcher = "pytorch" if world > 1 else "none"


DATASET_CONFIGS = {"voc": "mmdet::_base_/datasets/voc0712.py",
                   "coco": "mmdet::_base_/datasets/coco_detection.py"}


def shipped_config_path(name: str) -> Path:
    """`mmdet::faster_rcnn/x.py` -> the file inside the installed mmdet package."""
    package, _, rel = name.partition("::")
    if not rel:
        return project_path(name)
    from mmengine.utils import get_installed_path

    return Path(get_installed_path(package)) / ".mim" / "configs" / rel


@functools.lru_cache(maxsize=None)
def _parsed(path: Path) -> dict:
    return Config.fromfile(path).to_dict()


def _shipped_dict(path: Path) -> dict:
    """A shipped config as a plain dict: parsed once per process (80% of a build), then
    copied, so composing every cell of a table stays fast."""
    return copy.deepcopy(_parsed(path))


def build_mmdet_config(cfg: DictConfig, run_dir: Path) -> Config:
    """The full MMDetection config of one cell, ready for mmengine's Runner."""
    family = cfg.dataset.family
    shipped = cfg.detector.base.get(family)
    path = shipped_config_path(shipped or cfg.detector.base.coco)
    # format_python_code=False: yapf-formatting the config text costs ~0.3 s a call and
    # mmengine does it several times per run. (Config.fromfile drops the flag for
    # non-lazy configs in mmengine 0.10.7, hence the rebuild.)
    mm = Config(_shipped_dict(path), filename=str(path), format_python_code=False)
    if not shipped:
        # MMDetection ships this detector for COCO only: its VOC variant is the COCO
        # model with MMDetection's own dataset config for the family (methods.md 5).
        data = _shipped_dict(shipped_config_path(DATASET_CONFIGS[family]))
        for key in ("train_dataloader", "val_dataloader", "test_dataloader",
                    "val_evaluator", "test_evaluator"):
            mm[key] = data[key]
    apply_model_deltas(mm, cfg)
    apply_dataset(mm, cfg)
    apply_reg_loss(mm, cfg)
    apply_hcral(mm, cfg, run_dir)  # HCRAL: heads, EATSS, cls_loss, test-dev (issue 7)
    apply_balancer(mm, cfg)
    apply_optimizer(mm, cfg)
    apply_schedule(mm, cfg)
    apply_profile_scale(mm, cfg)
    apply_sample_seeds(mm, cfg)  # per-sample random transforms (profile.sample_seeds)
    apply_runtime(mm, cfg, run_dir / "mmdet")
    return mm
