"""What a cell's MMDetection config may differ in from the shipped config it starts from.

Written independently of repro/job/mmdet_config.py, from what the config entries
document: a detector entry names its anchor head, regression heads, class heads and
`model_deltas`; a dataset entry its split and schedule; a reg_loss / cls_loss /
balancer / optimizer entry the loss or rule it sets; the paper profile the batch, the
pretrained weights and the run's own settings (work dir, hooks, seed, launcher). Any
other difference is a change nobody documented, and the test fails on it.
"""
from __future__ import annotations

import fnmatch
from functools import lru_cache

from mmengine.config import Config

from repro.job.mmdet_config import DATASET_CONFIGS, shipped_config_path

# The paper profile's scale and the run's own settings (conf/profile/paper.yaml,
# apply_profile_scale / apply_runtime), key by key: a shipped key dropped or changed
# anywhere else fails the test.
PROFILE = ["train_dataloader.batch_size", "*dataloader.num_workers",
           "*dataloader.persistent_workers", "model.backbone.init_cfg", "work_dir",
           "randomness", "default_hooks.logger.interval", "default_hooks.checkpoint",
           "default_hooks.visualization", "custom_hooks", "visualizer.vis_backends",
           "env_cfg.cudnn_benchmark", "auto_scale_lr.enable", "auto_scale_lr.base_batch_size",
           "launcher",
           # the shipped batch sampler inside one that resumes mid-epoch (preemption)
           "train_dataloader.batch_sampler"]
# A rehearsal (conf/rehearse/true.yaml): each dataset's first images, and the iteration
# schedule of apply_schedule.
REHEARSAL = ["*dataloader.dataset*.indices", "model.balancer.interval",
             "model.balancer.period", "model.balancer.warmup", "model.roi_balancer.interval",
             "model.roi_balancer.period", "model.roi_balancer.warmup", "log_processor"]
# The dataset entry: split (VOC: which years, a list whose length changes; the x3
# repeat), data location, test split, schedule; evaluation once at the end.
DATASET = ["train_dataloader.dataset.times", "train_dataloader.dataset.dataset.datasets",
           "*dataloader.dataset*.data_root", "test_dataloader.dataset.ann_file",
           "test_dataloader.dataset.data_prefix.sub_data_root", "test_evaluator.ann_file",
           "val_dataloader", "val_cfg", "val_evaluator", "train_cfg",
           "param_scheduler[[]*[]].end", "param_scheduler[[]*[]].milestones"]
# The optimizer entry sets the optimizer and the clipping; the rest of the shipped
# wrapper (e.g. VFNet's paramwise_cfg) must survive.
OPTIMIZER = ["optim_wrapper.optimizer.*", "optim_wrapper.clip_grad"]
DYNAMIC_BALANCER = ["model.type", "model.balancer", "model.balance_keys", "model.balance_kpi",
                    "model.roi_balancer", "model.roi_balance_keys", "custom_hooks"]


@lru_cache(maxsize=None)
def base_config(shipped: str | None, coco: str, family: str) -> dict:
    """The shipped config; a COCO-only detector on VOC takes MMDetection's VOC dataset
    config for its data (that swap is MMDetection's own file, not a delta of ours)."""
    mm = Config.fromfile(shipped_config_path(shipped or coco)).to_dict()
    if not shipped:
        data = Config.fromfile(shipped_config_path(DATASET_CONFIGS[family])).to_dict()
        for key in ("train_dataloader", "val_dataloader", "test_dataloader",
                    "val_evaluator", "test_evaluator"):
            mm[key] = data[key]
    return mm


def diff_paths(a, b, path: str = "") -> list[str]:
    """Dotted paths of the leaves where `a` and `b` differ (a documented path covers
    everything under it)."""
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for k in sorted(set(a) | set(b), key=str):
            sub = f"{path}.{k}" if path else str(k)
            if k not in a or k not in b:
                out.append(sub)
            else:
                out += diff_paths(a[k], b[k], sub)
        return out
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)) and len(a) == len(b):
        return [p for i, (x, y) in enumerate(zip(a, b)) for p in diff_paths(x, y, f"{path}[{i}]")]
    return [] if a == b else [path]


def documented(cfg) -> list[str]:
    det, allowed = cfg.detector, [*PROFILE, *DATASET, *OPTIMIZER]
    if cfg.profile.get("rehearsal"):
        allowed += [*REHEARSAL, "param_scheduler"]  # the 1x shape in iterations
    if cfg.profile.get("sample_seeds"):  # the training set built as the dataset it wraps,
        # each sample's flips from its own seed (repro/job/sample_seeds.py)
        allowed += ["train_dataloader.dataset.type", "train_dataloader.dataset.wraps",
                    "train_dataloader.dataset.seed"]
    if det.get("warmup_ratio") is not None:  # HCRAL's warm-up start (loss_config.py)
        allowed.append("param_scheduler[[]*[]].start_factor")
    heads = lambda key: [det[key]] if isinstance(det[key], str) else list(det[key])  # noqa: E731
    allowed += [f"model.{h}.num_classes" for h in heads("class_heads")]
    allowed += [f"model.{h}.{k}*" for h in heads("reg_heads") for k in ("loss_bbox", "reg_decoded_bbox")]
    allowed += [f"model.{k}" for k in (det.get("model_deltas") or {}).get(cfg.dataset.family, {})]
    anchor = det.anchor_head
    if cfg.balancer.name == "static":
        allowed += [f"model.{anchor}.loss_cls.loss_weight", f"model.{anchor}.loss_bbox.loss_weight"]
    else:
        allowed += DYNAMIC_BALANCER
    # HCRAL's entries (repro/job/loss_config.py): the head type, the assigner, the warm-up
    # start, the classification loss, the regression-loss weight, the test-dev submission.
    if det.get("head_type"):
        allowed.append(f"model.{anchor}.type")
    if det.get("assigner"):
        allowed.append("model.train_cfg.assigner*")
    if cfg.get("cls_loss") is not None and cfg.cls_loss.get("name", "default") != "default":
        allowed.append(f"model.{anchor}.loss_cls*")  # loss_cls, and VFNet's loss_cls_fl
        allowed.append(f"model.{anchor}.use_vfl")  # VFNet's head: which of the two it builds
    if cfg.dataset.get("format_only"):
        allowed += ["test_evaluator*", "test_dataloader.dataset.data_prefix.img"]
    return allowed


def undocumented(cfg, built: Config) -> list[str]:
    base = base_config(cfg.detector.base.get(cfg.dataset.family), cfg.detector.base.coco,
                       cfg.dataset.family)
    allowed = documented(cfg)
    return [p for p in diff_paths(base, built.to_dict())
            if not any(fnmatch.fnmatchcase(p, g) or fnmatch.fnmatchcase(p, g + ".*")
                       or fnmatch.fnmatchcase(p, g + "[[]*") for g in allowed)]
