"""The balancer group's delta to a cell's MMDetection config.

`static` sets the anchor head's own loss weights (how ALWA Table 1 sets them); any other
rule turns the detector into `Balanced<Detector>` (repro/mmdet/balanced_detector.py)
with the rule and the (cls, reg) loss keys of the head groups it acts on.
"""
from __future__ import annotations

from mmengine.config import Config
from omegaconf import DictConfig, OmegaConf

from repro.balancer_options import EPOCH, check_balancer_options, groups_of
from repro.core.errors import ReproError
from repro.job.config_paths import model_part as _head

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
    from repro.mmdet.balanced_detector import balanced_type

    check_balancer_options(OmegaConf.to_container(b), where=f"detector {cfg.detector.name}")

    rule = {k: v for k, v in OmegaConf.to_container(b).items() if k not in GLUE_KEYS}
    if rule.get("period") == EPOCH:
        if "iters" in cfg.profile:
            # An iteration-based schedule (smoke) has the 1x shape counted in
            # iterations (apply_schedule): its epoch is iters / dataset.epochs.
            rule["period"] = max(1, round(int(cfg.profile.iters) / int(cfg.dataset.epochs)))
        else:  # the train dataloader's length, known once the runner has built it
            mm.custom_hooks = [*mm.get("custom_hooks", []), dict(type="BalancerEpochHook")]
    groups = groups_of(b)
    mm.model.type = balanced_type(mm.model.type)
    if "anchor" in groups:
        mm.model.balancer = dict(type=b.name, **rule)
        mm.model.balance_keys = OmegaConf.to_container(cfg.detector.balance_keys)
        if b.name == "dtp":
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
        roi_rule = dict(type=b.name, **rule)
        if "roi_factor" in b:  # Guided Loss: the cls weight x2 in an RoI head (methods.md 2)
            roi_rule["scale"] = float(rule["scale"]) * float(b.roi_factor)
        mm.model.roi_balancer = roi_rule
        mm.model.roi_balance_keys = OmegaConf.to_container(keys)
