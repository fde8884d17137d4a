"""Detectors whose (cls, reg) loss groups go through a balancer rule.

The single hook that serves every detector (methods.md section 5): a subclass whose
`loss()` calls the detector's own, sums each configured group's per-level losses into
one classification and one regression loss, and replaces them with the rule's weighted
pair. Which keys form a group is configuration, not code:

* the anchor-head group (`balancer`, `balance_keys`): the RPN of a two-stage detector,
  the box head of a one-stage one; the default, as in the paper's Table 4;
* the RoI-head group (`roi_balancer`, `roi_balance_keys`), when the balancer config's
  `groups` names it; it has its own instance of the rule (its own state).

The rule is looked up by its config name in the registry of repro/balancers/ and the
glue follows its declarations (repro/balancers/base.py), never its name. The rules'
state (alpha and windows, period history, KPI averages, ...) lives in the model's state
dict through `get_extra_state`, so every checkpoint carries it; a rule of learned
weights is an nn.Module whose parameters are the model's. The weights are logged every
iteration as `balancer_w_cls` / `balancer_w_reg` (RoI-head group: `balancer_roi_w_cls` /
`_reg`; a rule that takes KPIs also logs them as `balancer_kpi_cls` / `_reg`, nan where
undefined): keys without "loss", so mmengine logs them and does not add them to the
total loss.

A rule that takes KPIs reads those of the anchor head named by `balance_kpi`
(`repro/mmdet/head_kpi.py`). A period of `"epoch"` (a rule's `epoch_setting`) is
resolved by `BalancerEpochHook` from the run's train dataloader before the rule is built
(and before a resumed state is loaded).
"""
from __future__ import annotations

import math

import torch
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.registry import HOOKS
from mmdet.registry import MODELS
from torch import nn

from repro.balancers.base import EPOCH, RULES, rule_named
from repro.mmdet.head_kpi import HeadKPITap


class BalancerHolder(nn.Module):
    """Keeps a pure balancer rule inside the model (state dict, device, parameters).

    `spec` is the rule's type (its config name) and parameters. A rule's
    `epoch_setting` given as `"epoch"` defers building the rule until
    `resolve_epoch(iterations_per_epoch)`.
    """

    def __init__(self, spec: dict) -> None:
        super().__init__()
        params = dict(spec)
        self.name = params.pop("type")
        self.rule_class = rule_named(self.name)
        in_epochs = [k for k, v in params.items() if v == EPOCH]
        self.pending = params if in_epochs else None
        if in_epochs and in_epochs != [self.rule_class.epoch_setting]:
            counted = "/".join(r.__name__ for r in RULES.values() if r.epoch_setting)
            raise ValueError(f"{in_epochs[0]}: {EPOCH} is a {counted} setting, not one of "
                             f"{self.name!r}")
        self.rule = None if self.pending is not None else self.rule_class(**params)

    def resolve_epoch(self, iterations_per_epoch: int) -> None:
        if self.pending is not None:
            period = self.rule_class.epoch_setting
            self.rule = self.rule_class(**{**self.pending, period: int(iterations_per_epoch)})
            self.pending = None

    def get_extra_state(self):
        # A rule of learned weights keeps its state in its parameters (the module's own).
        return None if self.rule_class.learned else self._built().state_dict()

    def set_extra_state(self, state) -> None:
        if state is not None:
            self._built().load_state_dict(state)

    def _built(self):
        if self.rule is None:
            raise RuntimeError(f"{self.name} {self.rule_class.epoch_setting}: {EPOCH} was "
                               f"never resolved; the run needs BalancerEpochHook in its "
                               f"custom_hooks")
        return self.rule


@HOOKS.register_module()
class BalancerEpochHook(Hook):
    """Resolves `period: epoch` to the iterations of one pass of the train dataloader.

    `before_run` comes after mmengine builds the train loop (and its dataloader) and
    before it loads a checkpoint, so a resumed rule is built before its state arrives.
    """

    priority = "VERY_HIGH"

    def before_run(self, runner) -> None:
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        iterations = len(runner.train_dataloader)
        for m in model.modules():
            if isinstance(m, BalancerHolder) and m.pending is not None:
                m.resolve_epoch(iterations)
                runner.logger.info(f"{m.name} {m.rule_class.epoch_setting}: {EPOCH} = "
                                   f"{iterations} iterations")


def _total(value) -> torch.Tensor:
    """mmdet heads return one loss per FPN level as a list; the group is their sum."""
    return sum(value) if isinstance(value, (list, tuple)) else value


def _module_at(root: nn.Module, dotted: str) -> nn.Module:
    for part in dotted.split("."):
        root = getattr(root, part)
    return root


class BalancedLossMixin:
    def __init__(self, *args, balancer: dict | None = None, balance_keys: dict | None = None,
                 roi_balancer: dict | None = None, roi_balance_keys: dict | None = None,
                 balance_kpi: dict | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # (log-key prefix, holder attribute, loss keys) per balanced group
        self.balance_groups = []
        for prefix, attr, spec, keys in (("balancer_", "loss_balancer", balancer, balance_keys),
                                         ("balancer_roi_", "roi_loss_balancer", roi_balancer,
                                          roi_balance_keys)):
            if spec is not None:
                if not keys or set(keys) != {"cls", "reg"}:
                    raise ValueError(f"{attr} needs its (cls, reg) loss keys, got {keys!r}")
                setattr(self, attr, BalancerHolder(spec))
                self.balance_groups.append((prefix, attr, dict(keys)))
        if not self.balance_groups:
            raise ValueError("a balanced detector needs `balancer` and/or `roi_balancer`")
        self.kpi_tap = None
        if balancer is not None and self.loss_balancer.rule_class.kpis:
            if not balance_kpi:
                raise ValueError(f"{balancer['type']} needs balance_kpi=dict(head=<anchor "
                                 f"head>, cls=<kpi>)")
            self.kpi_tap = HeadKPITap(_module_at(self, balance_kpi["head"]), balance_kpi["cls"])
        if roi_balancer is not None and self.roi_loss_balancer.rule_class.kpis:
            raise ValueError(f"{roi_balancer['type']}'s KPIs are read from an anchor head "
                             f"only, not the RoI head")

    def loss(self, batch_inputs, batch_data_samples) -> dict:
        if self.kpi_tap is not None:
            self.kpi_tap.reset()
        losses = super().loss(batch_inputs, batch_data_samples)
        kpis = None if self.kpi_tap is None else self.kpi_tap.read()
        for prefix, attr, keys in self.balance_groups:
            self._balance(losses, getattr(self, attr)._built(), keys, prefix,
                          kpis if attr == "loss_balancer" else None)
        return losses

    @staticmethod
    def _balance(losses: dict, rule, keys: dict, prefix: str, kpis) -> None:
        cls_key, reg_key = keys["cls"], keys["reg"]
        cls, reg = _total(losses[cls_key]), _total(losses[reg_key])
        if kpis is None:
            cls_w, reg_w = rule(cls, reg)
        else:
            cls_w, reg_w = rule(cls, reg, cls_kpi=kpis[0], reg_kpi=kpis[1])
            losses[f"{prefix}kpi_cls"], losses[f"{prefix}kpi_reg"] = (
                cls.new_tensor(math.nan if k is None else k).detach() for k in kpis)
        losses[cls_key], losses[reg_key] = cls_w, reg_w
        # The weights applied in this iteration, as device tensors (no host sync):
        # weighted / unweighted, except for learned weights (uncertainty weighting's + s_k
        # term is not a factor), which the rule reports itself.
        if rule.learned:
            w = rule.weights
            w_cls, w_reg = cls_w.new_tensor(w["cls"]), cls_w.new_tensor(w["reg"])
        else:
            w_cls, w_reg = cls_w.detach() / cls.detach(), reg_w.detach() / reg.detach()
        losses[f"{prefix}w_cls"], losses[f"{prefix}w_reg"] = w_cls, w_reg


def balanced_type(detector_type: str) -> str:
    """Register (once) and return the balanced subclass of an mmdet detector type."""
    name = f"Balanced{detector_type}"
    if MODELS.get(name) is None:
        base = MODELS.get(detector_type)
        MODELS.register_module(name=name, module=type(name, (BalancedLossMixin, base), {}))
    return name
