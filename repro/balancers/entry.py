"""A balancer config entry (conf/balancer/<entry>.yaml, as composed for a cell), checked.

The one check of a balancer entry, run by the sweep's pre-flight on every cell before
anything starts (repro/sweep/preflight.py) and by the config builder of a job
(repro/job/balancer_config.py): the rule registered under the entry's `name:`, the head
groups and KPI it may take (its declarations, repro/balancers/base.py), and its settings
checked by building the rule once, so each rule's constructor is the only place that
knows its settings' ranges. Torch, no mmdet.
"""
from __future__ import annotations

import inspect
from typing import Mapping

from repro.core.errors import ReproError

from .base import EPOCH, HEAD_GROUPS, SettingError, groups_of, rule_named
from .kpi import CLS_KPIS


def check_entry(config: Mapping, where: str) -> tuple[type, dict]:
    """(rule class, constructor settings) of a balancer entry; ReproError naming the fix."""
    name = config.get("name")
    try:
        rule = rule_named(name)
    except KeyError as e:
        raise ReproError(f"{where}: {e.args[0]}; a balancer is a rule file in "
                         f"repro/balancers/ and its entry in conf/balancer/") from None
    _check_groups(rule, config, where)
    if rule.kpis and config.get(rule.kpis) not in CLS_KPIS:
        raise ReproError(f"{where}: balancer.{rule.kpis}={config.get(rule.kpis)!r}: choose "
                         f"one of {CLS_KPIS}")
    settings = rule.settings_of(config)
    _build_once(rule, settings, where)
    return rule, settings


def _check_groups(rule: type, config: Mapping, where: str) -> None:
    if rule.head_loss_weights is not None:  # the head's own loss weights: no groups
        return
    groups = groups_of(config)
    if not groups or len(set(groups)) != len(groups) or set(groups) - set(HEAD_GROUPS):
        raise ReproError(f"{where}: balancer.groups={groups}: name one or both of "
                         f"{list(HEAD_GROUPS)} (the anchor head, the RoI head), once each")
    if rule.kpis and "roi" in groups:
        raise ReproError(f"{where}: balancer={rule.name} reads its KPIs from the anchor head "
                         f"only; use balancer.groups=[anchor]")


def _build_once(rule: type, settings: dict, where: str) -> None:
    probe = dict(settings)
    period = rule.epoch_setting
    if period and isinstance(probe.get(period), str):
        if probe[period] != EPOCH:
            raise ReproError(f"{where}: balancer.{period}={probe[period]!r}: give a number of "
                             f"iterations or '{EPOCH}'")
        probe[period] = 1  # an epoch's length is known at run time; any count checks the rest
    known = set(inspect.signature(rule.__init__).parameters) - {"self"}
    unknown = sorted(set(probe) - known)
    if unknown:
        raise ReproError(f"{where}: balancer.{unknown[0]} is not a setting of "
                         f"balancer={rule.name} (its settings: {', '.join(sorted(known))})")
    try:
        rule(**probe)
    except SettingError as e:
        raise ReproError(f"{where}: balancer.{e.key}={e.value!r} {e.problem}") from None
