"""The HCRAL paper's deltas to a cell's MMDetection config (issue 7), applied after the
regression loss and before the balancer by one call in `build_mmdet_config`:

- the detector entry's `head_type` (the HCRAL heads, repro/mmdet/hcral.py, which give
  IoU-aware losses their IoU targets and HCRAR its scores), `assigner` (EATSS) and
  `warmup_ratio` (the paper's linear warm-up start; the smoke schedule sets its own);
- the `cls_loss` group's classification loss (`default` keeps the detector's own);
- the detector entry's regression-loss weight for losses on decoded boxes
  (`iou_loss_weight`: RetinaNet 2.5 as the paper states) and per-loss settings
  (`loss_overrides`: ATSS drops HCRAR's IoU factor, weight 1.5);
- a dataset entry with `format_only` (COCO test-dev): the submission file for the
  evaluation server instead of a score (repro/job/submission.py);
- under a single-scale profile (smoke), the multi-scale training resize of the shipped
  ms-2x configs becomes one Resize (a change of scale, not of meaning).

HCRAL (HCRAC, HCRAR, EATSS) is reconstructed from the paper's prose and ablations, not
from its equations (methods.md section 3).
"""
from __future__ import annotations

from pathlib import Path

from mmengine.config import Config
from omegaconf import DictConfig, OmegaConf

from repro.core.errors import ReproError
from repro.job.config_paths import model_part, walk

# Classification losses that need the IoU of each positive's decoded box, and the heads
# that compute it (MMDetection's own RetinaHead / ATSSHead do not).
SOFT_TARGET_LOSSES = ("QualityFocalLoss", "VarifocalLoss", "HCRACLoss")
HCRAL_HEADS = ("HCRALRetinaHead", "HCRALATSSHead", "HCRALVFNetHead")
NO_QFL_HEADS = ("HCRALVFNetHead",)  # VFNet's head builds VFL targets, not QFL's (labels, IoU)


def _plain(node):
    return OmegaConf.to_container(node, resolve=True) if isinstance(node, DictConfig) else node


def apply_head_and_assigner(mm: Config, cfg: DictConfig) -> None:
    det = cfg.detector
    head = model_part(mm, det.anchor_head)
    if det.get("head_type"):
        head.type = det.head_type
    if det.get("assigner"):
        mm.model.train_cfg.assigner = _plain(det.assigner)
    if det.get("warmup_ratio") is not None:  # the paper's: 0.1, ATSS 0.001 (section 4)
        for s in mm.get("param_scheduler") or []:
            if s.get("type") == "LinearLR":
                s.start_factor = float(det.warmup_ratio)


def apply_cls_loss(mm: Config, cfg: DictConfig) -> None:
    entry = cfg.get("cls_loss")
    if not entry or entry.get("loss") is None:
        return
    loss = _plain(entry.loss)
    head = model_part(mm, cfg.detector.anchor_head)
    kind = loss["type"]
    if kind in SOFT_TARGET_LOSSES and head.type not in HCRAL_HEADS:
        raise ReproError(f"cls_loss={entry.name} needs IoU soft targets, which the "
                         f"{head.type} of detector={cfg.detector.name} does not compute: "
                         f"use a detector with an HCRAL head ({', '.join(HCRAL_HEADS)}), e.g. "
                         f"detector=retinanet_r50_hcral or detector=atss_r50")
    if kind == "QualityFocalLoss" and head.type in NO_QFL_HEADS:
        raise ReproError(f"cls_loss=qfl is not available on {head.type}; use "
                         f"detector=fcos_atss_r50 (no auxiliary modules) or another cls_loss")
    head.loss_cls = loss
    if "use_vfl" in head:
        # VFNet's head builds VFL's IoU targets when use_vfl, else it builds its
        # classification loss from `loss_cls_fl` (not `loss_cls`) and passes labels.
        head.use_vfl = kind == "VarifocalLoss"
        if not head.use_vfl:
            head.loss_cls_fl = loss


def apply_reg_loss_settings(mm: Config, cfg: DictConfig) -> None:
    det = cfg.detector
    if det.anchor_head not in det.reg_heads:
        return
    head = model_part(mm, det.anchor_head)
    if head.loss_bbox.type == "HCRARLoss" and head.type not in HCRAL_HEADS:
        raise ReproError(f"reg_loss=hcrar needs the classification scores, which the {head.type} "
                         f"of detector={det.name} does not pass: use a detector with an "
                         f"HCRAL head ({', '.join(HCRAL_HEADS)})")
    if det.get("iou_loss_weight") is not None and cfg.reg_loss.decoded:
        head.loss_bbox.loss_weight = float(det.iou_loss_weight)
    for loss_type, settings in (_plain(det.get("loss_overrides")) or {}).items():
        for key in ("loss_cls", "loss_bbox"):
            if head[key].type == loss_type:
                head[key].update(settings)


def apply_hcral(mm: Config, cfg: DictConfig, run_dir: Path) -> None:
    """Every HCRAL delta of this module, in order (a no-op for the ALWA detectors)."""
    from repro.job.submission import apply_submission

    apply_head_and_assigner(mm, cfg)
    apply_cls_loss(mm, cfg)
    apply_reg_loss_settings(mm, cfg)
    apply_submission(mm, cfg, run_dir)
    apply_single_scale(mm, cfg)


def apply_single_scale(mm: Config, cfg: DictConfig) -> None:
    """The shipped multi-scale configs (VFNet ms-2x, the paper's test-dev setting) train
    with RandomResize over (1333, 480..960); under a profile with one image scale
    (smoke) it becomes a plain Resize, which the profile's scale function then sizes."""
    if "image_scale" not in cfg.profile:
        return
    for d in walk(mm.train_dataloader):
        if d.get("type") == "RandomResize":
            keep = d.get("keep_ratio", True)
            d.clear()
            d.update(type="Resize", scale=tuple(cfg.profile.image_scale), keep_ratio=keep)
