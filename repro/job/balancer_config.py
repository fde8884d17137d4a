"""The balancer group's delta to a cell's MMDetection config.

`static` sets the anchor head's own loss weights (how ALWA Table 1 sets them); any other
rule turns the detector into `Balanced<Detector>` (repro/mmdet/balanced_detector.py)
with the rule and the (cls, reg) loss keys of the head groups it acts on.
"""
from __future__ import annotations

from mmengine.config import Config
from omegaconf import DictConfig, OmegaConf

from repro.balancers.kpi import CLS_KPIS
from repro.errors import ReproError
from repro.job.config_paths import model_part as _head

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
