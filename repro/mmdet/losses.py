"""The HCRAL paper's losses and the comparison losses MMDetection 3.3.0 lacks, registered
as MMDetection `MODELS` (thin wrappers around the pure maths in repro/losses).

HCRACLoss and HCRARLoss are RECONSTRUCTIONS from the paper's prose and ablations, not
the authors' equations (methods.md section 3; docstrings of repro/losses/hcrac.py and
hcrar.py). They need what a plain head does not pass: HCRAC the IoU of each anchor's
decoded box (`ious=`), HCRAR the target class's score (`scores=`); the heads of
repro/mmdet/hcral.py pass them.
"""
from __future__ import annotations

import math

import torch
from mmdet.registry import MODELS
from torch import Tensor, nn

from repro.losses import (RunningMean, alpha_iou_loss, dr_loss, eiou_loss, focal_eiou_loss,
                          hcrac_loss, hcrar_loss)
from repro.losses.dr import NEG_LAMBDA


class _BoxLoss(nn.Module):
    def __init__(self, reduction: str = "mean", loss_weight: float = 1.0) -> None:
        super().__init__()
        self.reduction, self.loss_weight = reduction, float(loss_weight)

    def _reduction(self, override):
        return override or self.reduction


@MODELS.register_module()
class EfficientIoULoss(_BoxLoss):
    """EIoU of Zhang et al. 2022 (decoded boxes). MMDetection's `EIoULoss` is another loss."""

    def forward(self, pred, target, weight=None, avg_factor=None, reduction_override=None, **kw):
        reduction = self._reduction(reduction_override)
        return self.loss_weight * eiou_loss(pred, target, weight, reduction, avg_factor)


@MODELS.register_module()
class FocalEfficientIoULoss(_BoxLoss):
    """Focal-EIoU of Zhang et al. 2022: IoU^gamma (detached) x EIoU, gamma = 0.5."""

    def __init__(self, gamma: float = 0.5, **kw) -> None:
        super().__init__(**kw)
        self.gamma = float(gamma)

    def forward(self, pred, target, weight=None, avg_factor=None, reduction_override=None, **kw):
        return self.loss_weight * focal_eiou_loss(pred, target, weight, self.gamma,
                                                  self._reduction(reduction_override), avg_factor)


@MODELS.register_module()
class AlphaIoULoss(_BoxLoss):
    """alpha-IoU of He et al. 2021: 1 - IoU^alpha (+ the GIoU/DIoU/CIoU penalty^alpha)."""

    def __init__(self, alpha: float = 3.0, form: str = "iou", **kw) -> None:
        super().__init__(**kw)
        self.alpha, self.form = float(alpha), form

    def forward(self, pred, target, weight=None, avg_factor=None, reduction_override=None, **kw):
        return self.loss_weight * alpha_iou_loss(pred, target, weight, self.alpha, self.form,
                                                 self._reduction(reduction_override), avg_factor)


@MODELS.register_module()
class HCRARLoss(_BoxLoss):
    """HCRAR (a reconstruction, see repro/losses/hcrar.py): GIoU x CF x RCI / EMA(RCI).
    The EMA is a buffer, so it is saved with the model and survives a resume."""

    def __init__(self, theta: float = 1.2, alpha: float = -0.1, ep: float = 0.001,
                 eta: float = 0.9, iou_factor: bool = True, rci: bool = True, **kw) -> None:
        super().__init__(**kw)
        self.theta, self.alpha = float(theta), float(alpha)
        self.ep, self.eta = float(ep), float(eta)
        self.iou_factor, self.rci = bool(iou_factor), bool(rci)
        self.register_buffer("rci_mean", torch.tensor(math.nan))

    def forward(self, pred, target, weight=None, avg_factor=None, reduction_override=None,
                scores: Tensor | None = None, **kw):
        m = self.rci_mean.item()
        ema = RunningMean(self.eta, None if math.isnan(m) else m)
        loss = hcrar_loss(pred, target, scores, weight, self.theta, self.alpha, self.ep,
                          self.iou_factor, self.rci, ema if self.training else None,
                          self._reduction(reduction_override), avg_factor)
        if ema.value is not None:
            self.rci_mean.fill_(ema.value)
        return self.loss_weight * loss


@MODELS.register_module()
class DRLoss(nn.Module):
    """DR loss (Qian et al. 2020) for sigmoid classifiers; one scalar per batch, the
    authors' normalisation (the head's avg_factor is not used). The HCRAL heads call it
    once over every FPN level's entries, as the authors do."""

    def __init__(self, margin: float = 0.5, L: float = 6.0, tau: float = 4.0,
                 pos_lambda: float = 1.0, neg_lambda: float = NEG_LAMBDA,
                 use_sigmoid: bool = True, loss_weight: float = 1.0) -> None:
        super().__init__()
        self.margin, self.L, self.tau = float(margin), float(L), float(tau)
        self.pos_lambda, self.neg_lambda = float(pos_lambda), float(neg_lambda)
        self.use_sigmoid, self.loss_weight = True, float(loss_weight)

    def forward(self, pred, target, weight=None, avg_factor=None, reduction_override=None, **kw):
        return self.loss_weight * dr_loss(pred, target, weight, self.margin, self.L, self.tau,
                                          self.pos_lambda, self.neg_lambda)


@MODELS.register_module()
class HCRACLoss(nn.Module):
    """HCRAC (a reconstruction, see repro/losses/hcrac.py): GHM-C x adaptive matrix x RCI.
    Normalised by the number of valid entries, as GHM-C (the head's avg_factor unused)."""

    def __init__(self, bins: int = 20, pos_weight: float = 5.0, decay: float = 0.7,
                 rci: bool = True, momentum: float = 0.0, use_sigmoid: bool = True,
                 loss_weight: float = 1.0) -> None:
        super().__init__()
        self.bins, self.pos_weight, self.decay = int(bins), float(pos_weight), float(decay)
        self.rci, self.use_sigmoid, self.loss_weight = bool(rci), True, float(loss_weight)
        self.momentum = float(momentum)
        # GHM-C's running bin counts (a buffer: checkpointed, survives a resume)
        self.register_buffer("acc_sum", torch.zeros(self.bins))

    def forward(self, pred, target, weight=None, avg_factor=None, reduction_override=None,
                ious: Tensor | None = None, **kw):
        acc = self.acc_sum if self.momentum > 0 and self.training else None
        return self.loss_weight * hcrac_loss(pred, target, ious, weight, self.bins,
                                             self.pos_weight, self.decay, self.rci,
                                             reduction_override or "mean", self.momentum, acc)
