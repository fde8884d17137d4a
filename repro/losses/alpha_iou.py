"""alpha-IoU (He et al., "alpha-IoU: a family of power intersection over union losses for
bounding box regression", NeurIPS 2021): 1 - IoU^alpha, plus the penalty of the GIoU,
DIoU or CIoU form raised to alpha. The paper's recommended alpha = 3."""
from __future__ import annotations

import math

import torch
from torch import Tensor

from repro.losses.boxes import EPS, box_geometry
from repro.losses.reduce import weight_reduce

FORMS = ("iou", "giou", "diou", "ciou")


def alpha_iou_elementwise(pred: Tensor, target: Tensor, alpha: float = 3.0,
                          form: str = "iou") -> Tensor:
    if form not in FORMS:
        raise ValueError(f"alpha-IoU form must be one of {FORMS}, not {form!r}")
    g = box_geometry(pred, target)
    loss = 1 - g.iou.clamp(min=0) ** alpha
    if form == "giou":
        area = g.enclose_area + EPS
        loss = loss + ((area - g.union) / area).clamp(min=0) ** alpha
    elif form in ("diou", "ciou"):
        loss = loss + (g.rho2 / g.c2) ** alpha
        if form == "ciou":
            v = (4 / math.pi ** 2) * (torch.atan(g.w_gt / (g.h_gt + EPS))
                                      - torch.atan(g.w / (g.h + EPS))) ** 2
            with torch.no_grad():
                beta = v / (v - g.iou + 1 + EPS)
            loss = loss + (beta * v) ** alpha
    return loss


def alpha_iou_loss(pred: Tensor, target: Tensor, weight: Tensor | None = None,
                   alpha: float = 3.0, form: str = "iou", reduction: str = "mean",
                   avg_factor: float | None = None) -> Tensor:
    return weight_reduce(alpha_iou_elementwise(pred, target, alpha, form), weight,
                         reduction, avg_factor)
