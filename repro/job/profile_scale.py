"""The profile's scale: dataloaders, image size, pretrained weights, and (smoke) a
narrower detector trained from scratch; under rehearse=true (conf/rehearse/true.yaml)
the few training and test images and the balancers' shortened windows. A change of
scale, never of meaning: the same detector, losses, optimizer and evaluation
(tests/test_mmdet_config.py). `scale_record` is what a job writes to its scale.json,
the report's "not the paper's scale" (repro/table/paper_scale.py)."""
from __future__ import annotations

import os

from mmengine.config import Config
from omegaconf import DictConfig

from repro.core.paths import project_path
from repro.job.config_paths import walk as _walk

def apply_profile_scale(mm: Config, cfg: DictConfig) -> None:
    p = cfg.profile
    for dl in (mm.train_dataloader, mm.test_dataloader):
        dl.num_workers = p.workers
        dl.persistent_workers = p.workers > 0
    mm.train_dataloader.batch_size = images_per_gpu(p)
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
    if p.get("backbone"):  # a smaller backbone (smoke): the stand-in's weights, or scratch
        stand_in = _shrink_model(mm.model, p)
        if stand_in:  # trained (once, cached) when a runner is built: repro/job/train.py
            mm.stand_in_backbone = stand_in
    if "test_batch" in p:
        mm.test_dataloader.batch_size = p.test_batch
    if p.get("rehearsal"):
        _rehearse(mm, p)


def images_per_gpu(p: DictConfig) -> int:
    """The profile's images per GPU, unless a rehearsal's deviation flag sets fewer."""
    flag = (p.get("rehearsal") or {}).get("images_per_gpu")
    return int(flag) if flag else int(p.images_per_gpu)


def _leaves(dataset) -> list:
    """The datasets that read files (inside RepeatDataset / ConcatDataset wrappers)."""
    if "dataset" in dataset:
        return _leaves(dataset.dataset)
    if "datasets" in dataset:
        return [leaf for d in dataset.datasets for leaf in _leaves(d)]
    return [dataset]


def _rehearse(mm: Config, p: DictConfig) -> None:
    """A rehearsal: each dataset's first images only (mmengine's `indices`), and the
    balancers' windows short enough for their updates to run within `iters`."""
    r = p.rehearsal
    train = r.train_images or int(p.iters) * images_per_gpu(p)
    for leaf in _leaves(mm.train_dataloader.dataset):
        leaf.indices = int(train)
    for leaf in _leaves(mm.test_dataloader.dataset):
        leaf.indices = int(r.test_images)
    for key in ("balancer", "roi_balancer"):
        rule = mm.model.get(key)
        for name, value in (r.get("windows") or {}).items():
            if rule is not None and name in rule and isinstance(rule[name], int):
                rule[name] = int(value)


def scale_record(cfg: DictConfig, mm: Config) -> dict:
    """What this job runs at, for its scale.json: the device mmengine will train on,
    processes, images per GPU, the schedule, the images kept, a changed image scale or
    backbone. The paper's own values come from the table (repro/table/paper_scale.py)."""
    from mmengine.device import get_device

    p = cfg.profile
    procs = int(os.environ.get("SLURM_NTASKS") if os.environ.get("SUBMITIT_EXECUTOR")
                else os.environ.get("WORLD_SIZE", "1"))
    leaves = {s: _leaves(getattr(mm, f"{s}_dataloader").dataset) for s in ("train", "test")}
    kept = {f"{s}_images": leaves[s][0].get("indices") for s in leaves}
    bb = p.get("backbone")
    return {"device": get_device(), "processes": procs, "images_per_gpu": images_per_gpu(p),
            "lr_base_batch": mm.auto_scale_lr["base_batch_size"],
            "iters": int(p.iters) if "iters" in p else None,
            "epochs": mm.train_cfg.get("max_epochs"), "paper_epochs": int(cfg.dataset.epochs),
            **kept, "image_scale": list(p.image_scale) if "image_scale" in p else None,
            "backbone": f"depth {bb.depth}, width {bb.base_channels}" if bb else None}


def _shrink_model(model, p: DictConfig) -> dict | None:
    """The smoke profile's widths and sample counts, part by part of the detector.
    Returns the stand-in backbone the model loads (a `StandIn` as a dict), if any:
    building a config only names its file, so a config that never trains never pays for
    its pretraining (HCRAL Table 7's ResNet-50-shaped stand-in, about a minute)."""
    bb = p.backbone
    depth = (bb.get("depth_of") or {}).get(str(model.backbone.get("depth")), bb.depth)
    if model.backbone.type == "Res2Net" or model.backbone.get("dcn"):
        # Res2Net has no 18-layer form, and ResNet's BasicBlock no deformable conv (HCRAL
        # Table 7's R2-101-DCN, R101-DCN): the smallest bottleneck depth, at the same width.
        depth = max(depth, 50)
    model.backbone.update(depth=depth, base_channels=bb.base_channels, init_cfg=None)
    # null: the shipped config's own (the paper's: stem + stage 1 frozen, BN statistics
    # kept from pretraining); numbers: the profile's, e.g. -1 and false from scratch.
    for key in ("frozen_stages", "norm_eval"):
        if bb.get(key) is not None:
            model.backbone[key] = bb[key]
    stand_in = None
    if bb.get("pretrained") == "stand_in" and model.backbone.type.split(".")[-1] == "ResNet":
        from repro.mmdet.stand_in_backbone import PretrainRecipe, StandIn

        spec = StandIn(data_root=str(project_path(p.data_root)), depth=depth,
                       base_channels=int(bb.base_channels),
                       recipe=PretrainRecipe(**(bb.get("stand_in") or {})))
        stand_in = spec.as_config()
        # MMDetection's own pretrained path, as the paper profile loads torchvision's file.
        model.backbone.init_cfg = dict(type="Pretrained", checkpoint=str(spec.path))
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
    return stand_in
