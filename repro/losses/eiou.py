"""EIoU and Focal-EIoU (Zhang et al., "Focal and efficient IOU loss for accurate bounding
box regression", Neurocomputing 2022). Not MMDetection's `EIoULoss`, which is another
loss (Extended-IoU): methods.md section 4."""
from __future__ import annotations

from torch import Tensor

from repro.losses.boxes import EPS, box_geometry
from repro.losses.reduce import weight_reduce


def eiou_elementwise(pred: Tensor, target: Tensor) -> tuple[Tensor, Tensor]:
    """(L_EIoU, IoU) per pair: 1 - IoU + rho^2(b, b_gt)/c^2 + (w - w_gt)^2/C_w^2 +
    (h - h_gt)^2/C_h^2, with c the enclosing box's diagonal and C_w, C_h its sides."""
    g = box_geometry(pred, target)
    loss = (1 - g.iou + g.rho2 / g.c2 + (g.w - g.w_gt) ** 2 / (g.enclose_w ** 2 + EPS)
            + (g.h - g.h_gt) ** 2 / (g.enclose_h ** 2 + EPS))
    return loss, g.iou


def eiou_loss(pred: Tensor, target: Tensor, weight: Tensor | None = None,
              reduction: str = "mean", avg_factor: float | None = None) -> Tensor:
    loss, _ = eiou_elementwise(pred, target)
    return weight_reduce(loss, weight, reduction, avg_factor)


def focal_eiou_loss(pred: Tensor, target: Tensor, weight: Tensor | None = None,
                    gamma: float = 0.5, reduction: str = "mean",
                    avg_factor: float | None = None) -> Tensor:
    """IoU^gamma * L_EIoU, the IoU factor detached (a weight, not a gradient path)."""
    loss, iou = eiou_elementwise(pred, target)
    return weight_reduce(iou.detach().clamp(min=0) ** gamma * loss, weight, reduction, avg_factor)
