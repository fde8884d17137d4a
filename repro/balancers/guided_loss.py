"""Guided loss: scale the classification loss to the regression loss's magnitude."""
import math

import torch

from .base import Balancer, check_choice, check_number, check_positive_int, register

MODES = ("per_iter", "warmup_frozen")


@register
class GuidedLoss(Balancer):
    """Guided loss of Chen et al., "Is Heuristic Sampling Necessary in Training Deep
    Object Detectors?", IEEE TIP 2021.

    ``L = w * L_cls + L_reg`` with ``w = scale * stopgrad(L_reg / L_cls)``: the
    classification loss (summed over all anchors, no sampling) is rescaled to the
    magnitude of the regression loss, with no gradient through the ratio.

    Reading of ``scale``: the paper's RoI-head form doubles the classification weight
    (``w = 2 * L_reg / L_cls``), so ``scale`` multiplies the classification weight only;
    the regression weight is always 1.

    Modes:

    * ``"per_iter"``: the ratio is recomputed every call (the authors' first release).
    * ``"warmup_frozen"``: during the first ``warmup`` calls the weight is the running
      mean of the ratios seen so far (this call's included); after ``warmup`` calls it is
      frozen at the mean of those ``warmup`` ratios.

    The running sum stays a device tensor: no host sync per call. A zero classification
    loss gives an infinite ratio, as in the reference (no epsilon is added).
    """

    name = "guided_loss"
    # In an RoI head the cls weight is doubled (methods.md section 2): the config's
    # `roi_factor` multiplies the RoI-head group's scale.
    roi_scale = ("scale", "roi_factor")
    _state_keys = ("ratio_sum", "count", "last_weight")
    _config_keys = ("scale", "mode", "warmup")

    def __init__(self, scale: float = 1.0, mode: str = "per_iter", warmup: int = 100):
        self.scale = check_number("GuidedLoss", "scale", scale, positive=True)
        check_choice("GuidedLoss", "mode", mode, MODES)
        self.mode = mode
        self.warmup = check_positive_int("GuidedLoss", "warmup", warmup)
        self.ratio_sum: torch.Tensor | None = None  # warmup_frozen: sum of the ratios
        self.count = 0                               # warmup_frozen: ratios summed
        self.last_weight: torch.Tensor | None = None  # cls weight of the latest call

    def forward(self, cls_loss: torch.Tensor, reg_loss: torch.Tensor):
        ratio = (reg_loss / cls_loss).detach()
        if self.mode == "per_iter":
            weight = self.scale * ratio
        else:
            if self.count < self.warmup:
                self.ratio_sum = ratio if self.ratio_sum is None else self.ratio_sum + ratio
                self.count += 1
            weight = self.scale * (self.ratio_sum / self.count)
        self.last_weight = weight
        return cls_loss * weight, reg_loss

    @property
    def frozen(self) -> bool:
        return self.mode == "warmup_frozen" and self.count >= self.warmup

    def current_weights(self) -> tuple[float, float]:
        # The classification weight is undefined before the first call: report nan.
        cls_w = math.nan if self.last_weight is None else float(self.last_weight)
        return cls_w, 1.0
