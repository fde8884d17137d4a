"""Compose one cell's MMDetection config from the Hydra groups.

Start from the detector's shipped MMDetection config for the dataset family, then apply,
in order, the deltas each group stands for: dataset (split, schedule, where the data
is), regression loss, anchor-head loss weights, optimizer, the profile's scale, and the
run's own runtime settings. Each delta is a small function; each config entry documents
why it differs from MMDetection's default.
"""
from __future__ import annotations

import copy
import fnmatch
import functools
import os
from pathlib import Path

from mmengine.config import Config
from omegaconf import DictConfig, OmegaConf

from repro.balancers.kpi import CLS_KPIS
from repro.data.synthetic import SPECS, ensure_dataset
from repro.errors import ReproError
from repro.job.loss_config import apply_hcral
from repro.paths import project_path


def _head(mm: Config, dotted: str):
    """A part of the model by its path under `model`, as the detector entries name them."""
    node = mm.model
    for part in dotted.split("."):
        node = node[part]
    return node


def _walk(node):
    """Every dict inside a config (pipelines sit deep in nested datasets)."""
    if isinstance(node, dict):
        yield node
        for v in node.values():
            yield from _walk(v)
    elif isinstance(node, (list, tuple)):
        for v in node:
            yield from _walk(v)


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
        *parents, leaf = dotted.split(".")
        node = mm.model
        for part in parents:
            node = node[part]
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


# The head groups a balancer rule can act on, and the detector entry's key that names
# each one's (cls, reg) loss keys. The paper's Table 4 balances the anchor head only.
BALANCE_GROUPS = {"anchor": "balance_keys", "roi": "roi_balance_keys"}
# Balancer config keys that are settings of the glue, not parameters of the rule.
GLUE_KEYS = ("name", "label", "groups", "roi_factor", "cls_kpi")


def apply_balancer(mm: Config, cfg: DictConfig) -> None:
    b = cfg.balancer
    if b.name == "static":
        # Fixed weights, as the paper's Table 1 sets them: the head's own loss weights.
        head = _head(mm, cfg.detector.anchor_head)
        head.loss_cls.loss_weight = float(cfg.balancer.cls_weight)
        head.loss_bbox.loss_weight = float(cfg.balancer.reg_weight) * head.loss_bbox.loss_weight
        return
    # A rule that changes the weights during training: the Balanced<Detector> glue.
    from repro.mmdet.balanced_detector import EPOCH, balanced_type

    rule = {k: v for k, v in OmegaConf.to_container(b).items() if k not in GLUE_KEYS}
    if rule.get("period") == EPOCH:
        if "iters" in cfg.profile:
            # An iteration-based schedule (smoke) has the 1x shape counted in
            # iterations (apply_schedule): its epoch is iters / dataset.epochs.
            rule["period"] = max(1, round(int(cfg.profile.iters) / int(cfg.dataset.epochs)))
        else:  # the train dataloader's length, known once the runner has built it
            mm.custom_hooks = [*mm.get("custom_hooks", []), dict(type="BalancerEpochHook")]
    elif isinstance(rule.get("period"), str):
        raise ReproError(f"balancer.period={rule['period']!r}: give a number of "
                         f"iterations or '{EPOCH}'")
    groups = list(b.get("groups", ["anchor"]))
    if not groups or len(set(groups)) != len(groups) or set(groups) - set(BALANCE_GROUPS):
        raise ReproError(f"balancer.groups={groups}: name one or both of "
                         f"{list(BALANCE_GROUPS)} (the anchor head, the RoI head), once each")
    mm.model.type = balanced_type(mm.model.type)
    if "anchor" in groups:
        mm.model.balancer = dict(type=b.name, **rule)
        mm.model.balance_keys = OmegaConf.to_container(cfg.detector.balance_keys)
        if b.name == "dtp":
            if b.cls_kpi not in CLS_KPIS:
                raise ReproError(f"balancer.cls_kpi={b.cls_kpi!r}: choose one of {CLS_KPIS}")
            from mmdet.registry import MODELS

            from repro.mmdet.head_kpi import unreadable

            # A head type registered by a module not imported yet is checked when the
            # model is built (HeadKPITap) instead.
            head_class = MODELS.get(_head(mm, cfg.detector.anchor_head).type)
            problem = head_class and unreadable(head_class)
            if problem:
                raise ReproError(f"balancer=dtp on detector {cfg.detector.name}: {problem}")
            mm.model.balance_kpi = dict(head=cfg.detector.anchor_head, cls=b.cls_kpi)
    if "roi" in groups:
        keys = cfg.detector.get("roi_balance_keys")
        if not keys:
            raise ReproError(f"balancer.groups={groups}: detector {cfg.detector.name} has no "
                             f"RoI head (no roi_balance_keys in its entry); use groups=[anchor]")
        if b.name == "dtp":
            raise ReproError("balancer=dtp reads its KPIs from the anchor head only; use "
                             "balancer.groups=[anchor]")
        roi_rule = dict(type=b.name, **rule)
        if "roi_factor" in b:  # Guided Loss: the cls weight x2 in an RoI head (methods.md 2)
            roi_rule["scale"] = float(rule["scale"]) * float(b.roi_factor)
        mm.model.roi_balancer = roi_rule
        mm.model.roi_balance_keys = OmegaConf.to_container(keys)


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
    clip = OmegaConf.to_container(opt.grad_clip) if opt.grad_clip else \
        tuning.get("clip_grad") or mm.get("optim_wrapper", {}).get("clip_grad")
    mm.optim_wrapper = dict(type="OptimWrapper", optimizer=params, clip_grad=clip)


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
        mm.param_scheduler = [
            dict(type="LinearLR", start_factor=0.001, by_epoch=False, begin=0, end=p.warmup),
            dict(type="MultiStepLR", by_epoch=False, begin=0, end=n, gamma=0.1,
                 milestones=[round(n * m / ds.epochs) for m in ds.milestones])]
    else:
        mm.train_cfg = dict(type="EpochBasedTrainLoop", max_epochs=ds.epochs,
                            val_interval=ds.epochs + 1)
        for s in mm.param_scheduler:
            if s.type == "MultiStepLR":
                s.end, s.milestones = ds.epochs, list(ds.milestones)


def apply_profile_scale(mm: Config, cfg: DictConfig) -> None:
    p = cfg.profile
    for dl in (mm.train_dataloader, mm.test_dataloader):
        dl.num_workers = p.workers
        dl.persistent_workers = p.workers > 0
    mm.train_dataloader.batch_size = p.images_per_gpu
    if p.workers == 0:
        # mmengine serialises annotations for worker processes and then runs a full
        # gc.collect() per dataset (~0.2 s, growing with a long-lived worker's heap).
        for d in _walk([mm.train_dataloader.dataset, mm.test_dataloader.dataset]):
            if "ann_file" in d:
                d["serialize_data"] = False
    if "image_scale" in p:
        for d in [*_walk(mm.train_dataloader), *_walk(mm.test_dataloader)]:
            if d.get("type") == "Resize":
                d["scale"] = tuple(p.image_scale)
            if "filter_cfg" in d and d["filter_cfg"]:
                d["filter_cfg"]["bbox_min_size"] = p.bbox_min_size
                d["filter_cfg"]["min_size"] = p.bbox_min_size
    weights = p.pretrained.get(cfg.detector.backbone) if p.get("pretrained") else None
    if weights:
        mm.model.backbone.init_cfg = dict(type="Pretrained", checkpoint=str(project_path(weights)))
    if p.get("backbone"):  # a smaller backbone, trained from scratch
        _shrink_model(mm.model, p)
    if "test_batch" in p:
        mm.test_dataloader.batch_size = p.test_batch


def _shrink_model(model, p: DictConfig) -> None:
    """The smoke profile's widths and sample counts, part by part of the detector."""
    bb = p.backbone
    depth = bb.depth
    if model.backbone.type == "Res2Net" or model.backbone.get("dcn"):
        # Res2Net has no 18-layer form, and ResNet's BasicBlock no deformable conv (HCRAL
        # Table 7's R2-101-DCN, R101-DCN): the smallest bottleneck depth, at the same width.
        depth = max(depth, 50)
    model.backbone.update(depth=depth, base_channels=bb.base_channels,
                          frozen_stages=bb.frozen_stages, norm_eval=bb.norm_eval, init_cfg=None)
    expansion = 1 if depth in (18, 34) else 4
    c = p.neck_channels
    for neck in model.neck if isinstance(model.neck, list) else [model.neck]:
        if neck.type == "FPN":
            neck.in_channels = [bb.base_channels * expansion * 2 ** i for i in range(4)]
            neck.out_channels = c
        else:  # a refinement of the FPN's outputs (Libra R-CNN's BFP)
            neck.in_channels = c
    for dense in ("rpn_head", "bbox_head"):  # RPN, or a one-stage detector's head
        if dense in model:
            model[dense].in_channels = model[dense].feat_channels = c
    if "roi_head" in model:
        model.roi_head.bbox_roi_extractor.out_channels = c
        if "mask_head" in model.roi_head:  # Mask R-CNN's mask branch, as narrow
            model.roi_head.mask_roi_extractor.out_channels = c
            model.roi_head.mask_head.in_channels = model.roi_head.mask_head.conv_out_channels = c
        box = model.roi_head.bbox_head
        box.in_channels = c
        for width in ("fc_out_channels", "conv_out_channels"):  # Double-Head has both
            if width in box:
                box[width] = p.fc_channels
    train, test = model.train_cfg, model.test_cfg
    if "rpn" in train:
        train.rpn.sampler.num = p.rpn_samples
        # Proposals before / after the RPN's NMS: the paper's counts are sized for
        # ~1000x600 images; on small images the CPU NMS would dominate the iteration.
        train.rpn_proposal.update(nms_pre=p.proposals_pre_nms, max_per_img=p.proposals)
        test.rpn.update(nms_pre=p.proposals_pre_nms, max_per_img=p.proposals)
    if "rcnn" in train:
        train.rcnn.sampler.num = p.rcnn_samples


def apply_runtime(mm: Config, cfg: DictConfig, work_dir: Path) -> None:
    mm.work_dir = str(work_dir)
    mm.randomness = dict(seed=int(cfg.seed), deterministic=False)
    mm.default_hooks.logger.interval = 10 if cfg.profile.synthetic else 50
    # Checkpoints every `checkpoint` iterations (smoke) or epochs (paper); null: none.
    every = cfg.profile.checkpoint
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
                       dict(type="WeightsOnlyCheckpointHook")]
    mm.visualizer.vis_backends = [dict(type="LocalVisBackend")]
    mm.env_cfg.cudnn_benchmark = False
    # The optimizer entries' LRs are the paper's for gpus x images_per_gpu images per
    # step (8 under the paper profile); MMDetection's linear scaling keeps that true
    # when a job runs on fewer processes than the profile names.
    p = cfg.profile
    mm.auto_scale_lr = dict(enable=True, base_batch_size=max(p.gpus, 1) * p.images_per_gpu)
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
    apply_runtime(mm, cfg, run_dir / "mmdet")
    return mm
