"""Loss balancers for the (classification, regression) pair of a detector head.

Each is called as ``cls_w, reg_w = b(cls_loss, reg_loss)`` with the two unweighted
0-dim losses and returns the weighted ones; ``b.weights`` gives the current weights for
logging and ``state_dict()``/``load_state_dict()`` hold all state for exact resumption.
Pure torch: no mmdet/mmengine imports, so the rules are testable on their own. The
KPIs that a rule may take in a detector are pure functions too (`repro.balancers.kpi`).

A balancer is one rule file here (a `Balancer` subclass registered under its config's
`name:`, declaring what the glue needs: repro/balancers/base.py) plus its entry in
conf/balancer/. Importing the package imports every module in it, which fills the
registry (`base.RULES`) and exports each rule class under its own name.
"""
import importlib
import pkgutil

from .base import RULES, Balancer, BalancerOverflow, rule_named

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")
globals().update({rule.__name__: rule for rule in RULES.values()})

__all__ = ["Balancer", "BalancerOverflow", "RULES", "rule_named",
           *sorted(rule.__name__ for rule in RULES.values())]
