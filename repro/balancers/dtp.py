"""DTP: Dynamic Task Prioritization, focal-loss-shaped weights from task KPIs."""
import math

import torch

from .base import Balancer, SettingError, check_number, register

KPI_CLIP = (1e-3, 1.0 - 1e-3)  # keeps log(k) finite and the weight > 0


@register
class DTP(Balancer):
    """Dynamic Task Prioritization of Guo et al., ECCV 2018.

    Each task's weight is the focal-loss form of its key performance indicator:
    ``w_k = -(1 - k)^gamma * log(k)``, where k is an exponential moving average of the
    task KPI in [0, 1] (``k = momentum * k + (1 - momentum) * kpi``), clipped to
    [1e-3, 1 - 1e-3]. Harder tasks (low KPI) get larger weights.

    The KPIs come with each call: ``b(cls_loss, reg_loss, cls_kpi=..., reg_kpi=...)``,
    e.g. classification accuracy and the mean IoU of positives (in a detector:
    `repro.balancers.kpi`, read inside the anchor head by `repro.mmdet.head_kpi`). The EMA is updated first,
    so a call is weighted with a k that includes its own KPI; the first KPI observed
    initialises k. A KPI given as None keeps the previous k (pass None when the KPI is
    undefined for a batch, e.g. no positives). Before any KPI is seen the weight is 1.

    KPIs are turned into Python floats (one host sync per call when they are tensors),
    which keeps the EMA in float64 and a resumed run exact.
    """

    name = "dtp"
    kpis = "cls_kpi"  # the config's classification KPI (repro/balancers/kpi.py)
    _state_keys = ("k_cls", "k_reg")
    _config_keys = ("gamma", "momentum")

    def __init__(self, gamma: float = 1.0, momentum: float = 0.9):
        self.gamma = check_number("DTP", "gamma", gamma, nonnegative=True)
        self.momentum = check_number("DTP", "momentum", momentum, nonnegative=True)
        if self.momentum >= 1.0:
            raise SettingError("DTP", "momentum", momentum, "must be < 1")
        self.k_cls: float | None = None
        self.k_reg: float | None = None

    def forward(self, cls_loss: torch.Tensor, reg_loss: torch.Tensor,
                cls_kpi=None, reg_kpi=None):
        self.k_cls = self._ema(self.k_cls, cls_kpi, "cls_kpi")
        self.k_reg = self._ema(self.k_reg, reg_kpi, "reg_kpi")
        cls_w, reg_w = self.current_weights()
        return cls_loss * cls_w, reg_loss * reg_w

    def current_weights(self) -> tuple[float, float]:
        return self._focal(self.k_cls), self._focal(self.k_reg)

    def _ema(self, k: float | None, kpi, name: str) -> float | None:
        if kpi is None:
            return k
        kpi = float(kpi)
        if not 0.0 <= kpi <= 1.0:  # also refuses nan
            raise ValueError(f"DTP {name} must be in [0, 1] (pass None if undefined), "
                             f"got {kpi!r}")
        return kpi if k is None else self.momentum * k + (1.0 - self.momentum) * kpi

    def _focal(self, k: float | None) -> float:
        if k is None:
            return 1.0
        k = min(max(k, KPI_CLIP[0]), KPI_CLIP[1])
        return -((1.0 - k) ** self.gamma) * math.log(k)
