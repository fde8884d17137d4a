"""Loss balancers for the (classification, regression) pair of a detector head.

Each is called as ``cls_w, reg_w = b(cls_loss, reg_loss)`` with the two unweighted
0-dim losses and returns the weighted ones; ``b.weights`` gives the current weights for
logging and ``state_dict()``/``load_state_dict()`` hold all state for exact resumption.
Pure torch: no mmdet/mmengine imports, so the rules are testable on their own. The
KPIs that DTP takes in a detector are pure functions too (`repro.balancers.kpi`).
"""
from .alwa import ALWA
from .base import Balancer, BalancerOverflow
from .dtp import DTP
from .dwa import DWA
from .guided_loss import GuidedLoss
from .static import Static
from .uncertainty import UncertaintyWeighting

__all__ = ["ALWA", "Balancer", "BalancerOverflow", "DTP", "DWA", "GuidedLoss", "Static",
           "UncertaintyWeighting"]
