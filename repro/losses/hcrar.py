"""HCRAR, the HCRAL paper's regression loss: a RECONSTRUCTION from its prose and
ablations, not the authors' equations (lost from our copy; no public code; methods.md
section 3). Every symbol is a parameter.

    HCRAR = (1 - GIoU) * CF * RCI / EMA(mean RCI)        per positive, then reduced
    CF    = [1 + theta * u (1 - u)] * (1 + rho^2 / c^2)
            the first factor raises ordinary-quality anchors (u near 0.5) above both
            the high-IoU ones and the low-IoU, abnormal-aspect ones (properties 1-2 of
            the paper's section 3.1.2); `iou_factor=False` drops it, as the paper does
            for ATSS (with loss weight 1.5). rho^2 / c^2 is the DIoU centre term.
    RCI   = (s + ep) / (max(u + alpha, 0) + ep)
            > 1 in "region 1" (score s above u + alpha, alpha <= 0), < 1 in region 2;
            a smaller ep raises it in region 1, as the paper's ablation describes.
    EMA   : m <- eta * m + (1 - eta) * mean(RCI) over the batch's positives (the first
            batch sets m); RCI is divided by m so its scale stays near 1.

u = IoU of the decoded box with its target, s = the score of the target class. CF and
RCI are detached (the paper separates them from the computational graph).
Paper values: theta = 1.2 (0.8..1.4), alpha = -0.1 (0, -0.1, -0.2), ep = 0.001
(0.01, 0.1, 0.001). eta is not given by the paper: 0.9 is our choice.
"""
from __future__ import annotations

import torch
from torch import Tensor

from repro.losses.boxes import box_geometry
from repro.losses.reduce import weight_reduce


def hcrar_cf(iou: Tensor, rho2_over_c2: Tensor, theta: float = 1.2,
             iou_factor: bool = True) -> Tensor:
    cf = 1 + rho2_over_c2
    if iou_factor:
        u = iou.clamp(0, 1)
        cf = cf * (1 + theta * u * (1 - u))
    return cf


def rci_reg(score: Tensor, iou: Tensor, alpha: float = -0.1, ep: float = 0.001) -> Tensor:
    return (score + ep) / ((iou + alpha).clamp(min=0) + ep)


class RunningMean:
    """The EMA that normalises RCI: m <- eta m + (1 - eta) x; the first value sets m."""

    def __init__(self, eta: float = 0.9, value: float | None = None) -> None:
        self.eta, self.value = float(eta), value

    def update(self, x: float) -> float:
        x = float(x)
        self.value = x if self.value is None else self.eta * self.value + (1 - self.eta) * x
        return self.value


def hcrar_loss(pred: Tensor, target: Tensor, scores: Tensor | None = None,
               weight: Tensor | None = None, theta: float = 1.2, alpha: float = -0.1,
               ep: float = 0.001, iou_factor: bool = True, rci: bool = True,
               running_mean: RunningMean | None = None, reduction: str = "mean",
               avg_factor: float | None = None) -> Tensor:
    """pred, target (N, 4) decoded boxes; scores (N,) the target class's score (None, or
    rci=False: no RCI). With `running_mean`, RCI is divided by its updated EMA."""
    g = box_geometry(pred, target)
    with torch.no_grad():
        w = hcrar_cf(g.iou, g.rho2 / g.c2, theta, iou_factor)
        if rci and scores is not None and pred.numel():
            r = rci_reg(scores.detach().to(pred.dtype), g.iou, alpha, ep)
            valid = r if weight is None else r[(weight.view(len(r), -1) > 0).any(-1)]
            if valid.numel():
                m = valid.mean().item()
                if running_mean is not None:
                    m = running_mean.update(m)
                r = r / max(m, 1e-12)
            w = w * r
    return weight_reduce((1 - g.giou) * w, weight, reduction, avg_factor)
