"""What a balancer entry may say beyond its rule's own parameters, and the check of it.

Pure (no torch, no mmdet), so the sweep checks every cell with it before anything runs
(repro/sweep/preflight.py), the config builder again (repro/job/balancer_config.py), and
the rules and glue share its names (repro/balancers/kpi.py, repro/mmdet/).
"""
from __future__ import annotations

from typing import Mapping

from repro.core.errors import ReproError

# The head groups a balancer rule can act on, and the detector entry's key that names
# each one's (cls, reg) loss keys. The paper's Table 4 balances the anchor head only.
BALANCE_GROUPS = {"anchor": "balance_keys", "roi": "roi_balance_keys"}
# DTP's classification KPI: accuracy, or the mean probability of the true class.
CLS_KPIS = ("accuracy", "true_prob")
EPOCH = "epoch"  # a DWA period given in epochs, resolved to iterations at run time


def groups_of(balancer: Mapping) -> list[str]:
    return list(balancer.get("groups", ["anchor"]))


def check_balancer_options(balancer: Mapping, where: str) -> None:
    if balancer.get("name") == "static":
        return
    groups = groups_of(balancer)
    if not groups or len(set(groups)) != len(groups) or set(groups) - set(BALANCE_GROUPS):
        raise ReproError(f"{where}: balancer.groups={groups}: name one or both of "
                         f"{list(BALANCE_GROUPS)} (the anchor head, the RoI head), once each")
    period = balancer.get("period")
    if isinstance(period, str) and period != EPOCH:
        raise ReproError(f"{where}: balancer.period={period!r}: give a number of "
                         f"iterations or '{EPOCH}'")
    if balancer.get("name") == "dtp":
        if balancer.get("cls_kpi") not in CLS_KPIS:
            raise ReproError(f"{where}: balancer.cls_kpi={balancer.get('cls_kpi')!r}: choose "
                             f"one of {CLS_KPIS}")
        if "roi" in groups:
            raise ReproError(f"{where}: balancer=dtp reads its KPIs from the anchor head "
                             f"only; use balancer.groups=[anchor]")
