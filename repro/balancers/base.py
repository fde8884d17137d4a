"""Shared plumbing for the two-task (classification, regression) loss balancers.

A balancer is called once per training iteration with the two UNWEIGHTED losses of one
detector head and returns the two WEIGHTED losses. Gradients flow through the losses; the
weights are constants for the backward pass unless a balancer says otherwise.

A rule file defines one `Balancer` subclass and registers it under the `name:` of its
config (conf/balancer/<entry>.yaml) with `@register`. The class declares what the
detector glue needs (the class attributes below) and validates its settings once, in its
constructor; the glue (repro/job/balancer_config.py, repro/mmdet/balanced_detector.py,
repro/job/tracking.py) and the pre-flight read only these declarations, through
`rule_named` and `repro.balancers.entry.check_entry`, never a rule's name.
"""
import math
from numbers import Real
from typing import Mapping

import torch

from repro.core.outcomes import OVERFLOW

# The head groups a rule can act on, and the detector entry's key that names each one's
# (cls, reg) loss keys. The paper's Table 4 balances the anchor head only (the default).
HEAD_GROUPS = {"anchor": "balance_keys", "roi": "roi_balance_keys"}
EPOCH = "epoch"  # a period given in epochs, resolved to iterations at run time
# Keys of every balancer config that are not settings of its rule: the registry key,
# the table label, the head groups, and the report's curves (repro/report/curves.py).
CONFIG_KEYS = ("name", "label", "groups", "curves")

RULES: dict = {}  # config name -> Balancer subclass, filled by @register in the rule files


def register(rule: type) -> type:
    """Class decorator of a rule file: the rule is the config name `rule.name`'s."""
    if RULES.get(rule.name, rule) is not rule:
        raise ValueError(f"balancer name {rule.name!r} is taken by {RULES[rule.name].__name__}")
    RULES[rule.name] = rule
    return rule


def rule_named(name: str) -> type:
    """The rule registered under a config's `name:`; KeyError naming the known ones."""
    if name not in RULES:
        raise KeyError(f"unknown balancer {name!r}; known: {sorted(RULES)}")
    return RULES[name]


def groups_of(balancer: Mapping) -> list[str]:
    return list(balancer.get("groups", ["anchor"]))


class SettingError(ValueError):
    """A rule setting out of its range: the key, the value and what it must be."""

    def __init__(self, owner: str, key: str, value, problem: str) -> None:
        super().__init__(f"{owner} {key}={value!r} {problem}")
        self.key, self.value, self.problem = key, value, problem


class BalancerOverflow(FloatingPointError):
    """A balancer's weight computation produced inf/nan (the papers' "overflow" outcome)."""

    kind = OVERFLOW


class Balancer:
    """Base class: `__call__` -> `forward`, the `weights` dict, and a state dict.

    Subclasses list every attribute that changes during training in `_state_keys` and
    every constructor setting that a saved state depends on in `_config_keys`; the state
    dict holds both, and loading refuses a state saved under different settings (a
    resumed run would silently diverge otherwise).

    What the glue reads (class attributes; the defaults fit a rule of constant weights
    recomputed from the two losses, on either head group):
    """

    _state_keys: tuple[str, ...] = ()
    _config_keys: tuple[str, ...] = ()

    name: str = ""  # the `name:` of the rule's config entry; the registry key
    # The config key naming the classification KPI the rule takes with every call
    # (`cls_kpi=`, `reg_kpi=`; read inside the anchor head, repro/mmdet/head_kpi.py), or
    # None: no KPIs. KPIs exist for the anchor head only.
    kpis: str | None = None
    # True: the weights are learned parameters (the rule is an nn.Module trained by the
    # model's optimiser, its state is theirs, and `weights` is what it reports).
    learned: bool = False
    # The setting that may be given as EPOCH (a period counted in epochs, resolved from
    # the run's schedule or dataloader), or None: every period counts iterations.
    epoch_setting: str | None = None
    # (cls, reg) settings that fixed weights come in: the glue writes them into the anchor
    # head's own loss weights and leaves the detector unbalanced; None: Balanced<Detector>.
    head_loss_weights: tuple[str, str] | None = None
    # (setting, config key): the RoI-head group's instance of the rule has that setting
    # multiplied by that config value, when given.
    roi_scale: tuple[str, str] | None = None

    @classmethod
    def settings_of(cls, config: Mapping) -> dict:
        """The constructor parameters in a balancer config: without CONFIG_KEYS and the
        config keys the rule's declarations name (its KPI, its RoI factor)."""
        glue = {*CONFIG_KEYS, *([cls.kpis] if cls.kpis else []),
                *(cls.roi_scale[1:] if cls.roi_scale else ())}
        return {k: v for k, v in config.items() if k not in glue}

    @classmethod
    def window_log(cls, settings: Mapping) -> dict | None:
        """What the trackers log per window of iterations (repro/job/tracking.py):
        dict(interval=, variant=) of a rule that compares window statistics, else None."""
        return None

    def __call__(self, cls_loss: torch.Tensor, reg_loss: torch.Tensor, **kwargs):
        check_loss("cls_loss", cls_loss)
        check_loss("reg_loss", reg_loss)
        return self.forward(cls_loss, reg_loss, **kwargs)

    def forward(self, cls_loss: torch.Tensor, reg_loss: torch.Tensor, **kwargs):
        raise NotImplementedError

    def current_weights(self) -> tuple[float, float]:
        """(cls, reg) weights the next call will apply."""
        raise NotImplementedError

    @property
    def weights(self) -> dict[str, float]:
        cls_w, reg_w = self.current_weights()
        return {"cls": float(cls_w), "reg": float(reg_w)}

    def state_dict(self) -> dict:
        state = {k: _copy(getattr(self, k)) for k in self._state_keys}
        state["config"] = {k: getattr(self, k) for k in self._config_keys}
        return state

    def load_state_dict(self, state: dict) -> None:
        expected = set(self._state_keys) | {"config"}
        if set(state) != expected:
            raise KeyError(f"{type(self).__name__} state keys {sorted(state)} "
                           f"!= expected {sorted(expected)}")
        mine = {k: getattr(self, k) for k in self._config_keys}
        if state["config"] != mine:
            raise ValueError(f"{type(self).__name__} state was saved with settings "
                             f"{state['config']}, this balancer has {mine}")
        for k in self._state_keys:
            setattr(self, k, _copy(state[k]))


def _copy(value):
    """Deep copy of plain state (tensors detached and cloned, lists copied)."""
    if isinstance(value, torch.Tensor):
        return value.detach().clone()
    if isinstance(value, (list, tuple)):
        return [_copy(v) for v in value]
    return value


def check_loss(name: str, loss) -> None:
    """Losses are single-element tensors; a shape check is free (no device sync)."""
    if not isinstance(loss, torch.Tensor) or loss.numel() != 1:
        raise ValueError(f"{name} must be a single-element tensor, got "
                         f"{type(loss).__name__} {getattr(loss, 'shape', '')}")


def check_number(owner: str, key: str, value, *, positive=False, nonnegative=False) -> float:
    """A finite real number (bools refused); returns it as float."""
    if isinstance(value, bool) or not isinstance(value, Real) or not math.isfinite(value):
        raise SettingError(owner, key, value, "must be a finite number")
    if positive and value <= 0:
        raise SettingError(owner, key, value, "must be a positive number")
    if nonnegative and value < 0:
        raise SettingError(owner, key, value, "must be >= 0")
    return float(value)


def check_positive_int(owner: str, key: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise SettingError(owner, key, value, "must be a whole number")
    if value < 1:
        raise SettingError(owner, key, value, "must be a positive number")
    return value


def check_choice(owner: str, key: str, value, choices) -> None:
    if isinstance(value, bool) or value not in choices:
        raise SettingError(owner, key, value, f"must be one of {tuple(choices)}")
