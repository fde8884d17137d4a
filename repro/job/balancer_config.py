"""The balancer group's delta to a cell's MMDetection config.

A rule of fixed weights (its `head_loss_weights` declaration) sets the anchor head's own
loss weights (how ALWA Table 1 sets them); any other rule turns the detector into
`Balanced<Detector>` (repro/mmdet/balanced_detector.py) with the rule and the (cls, reg)
loss keys of the head groups it acts on. Everything rule-specific comes from the rule's
declarations (repro/balancers/base.py), checked once by repro/balancers/entry.py.
"""
from __future__ import annotations

from mmengine.config import Config
from omegaconf import DictConfig, OmegaConf

from repro.balancers.base import EPOCH, groups_of
from repro.balancers.entry import check_entry
from repro.core.errors import ReproError
from repro.job.config_paths import model_part as _head


def apply_balancer(mm: Config, cfg: DictConfig) -> None:
    b = OmegaConf.to_container(cfg.balancer)
    rule, settings = check_entry(b, where=f"detector {cfg.detector.name}")
    if rule.head_loss_weights is not None:
        # Fixed weights, as the paper's Table 1 sets them: the head's own loss weights.
        cls_key, reg_key = rule.head_loss_weights
        head = _head(mm, cfg.detector.anchor_head)
        head.loss_cls.loss_weight = float(settings[cls_key])
        head.loss_bbox.loss_weight = float(settings[reg_key]) * head.loss_bbox.loss_weight
        return
    # A rule that changes the weights during training: the Balanced<Detector> glue.
    from repro.mmdet.balanced_detector import balanced_type

    if rule.epoch_setting and settings.get(rule.epoch_setting) == EPOCH:
        if "iters" in cfg.profile:
            # An iteration-based schedule (smoke) has the 1x shape counted in
            # iterations (apply_schedule): its epoch is iters / dataset.epochs.
            settings[rule.epoch_setting] = max(
                1, round(int(cfg.profile.iters) / int(cfg.dataset.epochs)))
        else:  # the train dataloader's length, known once the runner has built it
            mm.custom_hooks = [*mm.get("custom_hooks", []), dict(type="BalancerEpochHook")]
    groups = groups_of(b)
    mm.model.type = balanced_type(mm.model.type)
    if "anchor" in groups:
        mm.model.balancer = dict(type=rule.name, **settings)
        mm.model.balance_keys = OmegaConf.to_container(cfg.detector.balance_keys)
        if rule.kpis:
            mm.model.balance_kpi = dict(head=cfg.detector.anchor_head, cls=b[rule.kpis])
            _check_kpi_head(mm, cfg, rule)
    if "roi" in groups:
        keys = cfg.detector.get("roi_balance_keys")
        if not keys:
            raise ReproError(f"balancer.groups={groups}: detector {cfg.detector.name} has no "
                             f"RoI head (no roi_balance_keys in its entry); use groups=[anchor]")
        roi_rule = dict(type=rule.name, **settings)
        if rule.roi_scale and rule.roi_scale[1] in b:
            setting, factor = rule.roi_scale
            roi_rule[setting] = float(settings[setting]) * float(b[factor])
        mm.model.roi_balancer = roi_rule
        mm.model.roi_balance_keys = OmegaConf.to_container(keys)


def _check_kpi_head(mm: Config, cfg: DictConfig, rule: type) -> None:
    from mmdet.registry import MODELS

    from repro.mmdet.head_kpi import unreadable

    # A head type registered by a module not imported yet is checked when the model is
    # built (HeadKPITap) instead.
    head_class = MODELS.get(_head(mm, cfg.detector.anchor_head).type)
    problem = head_class and unreadable(head_class)
    if problem:
        raise ReproError(f"balancer={rule.name} on detector {cfg.detector.name}: {problem}")
