"""Aligned box geometry (x1, y1, x2, y2) shared by the IoU-family losses."""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

EPS = 1e-7


@dataclass
class BoxGeometry:
    """Everything the IoU-family losses read from a pair of boxes, element-wise."""
    iou: Tensor        # intersection / union
    union: Tensor
    enclose_w: Tensor  # the smallest enclosing box's width and height
    enclose_h: Tensor
    rho2: Tensor       # squared distance of the two centres
    w: Tensor          # widths and heights of prediction and target
    h: Tensor
    w_gt: Tensor
    h_gt: Tensor

    @property
    def enclose_area(self) -> Tensor:
        return self.enclose_w * self.enclose_h

    @property
    def c2(self) -> Tensor:
        """Squared diagonal of the enclosing box."""
        return self.enclose_w ** 2 + self.enclose_h ** 2 + EPS

    @property
    def giou(self) -> Tensor:
        area = self.enclose_area + EPS
        return self.iou - (area - self.union) / area


def box_geometry(pred: Tensor, target: Tensor, eps: float = EPS) -> BoxGeometry:
    """Geometry of matched pairs: pred, target shaped (..., 4) as (x1, y1, x2, y2)."""
    w, h = (pred[..., 2] - pred[..., 0]).clamp(min=0), (pred[..., 3] - pred[..., 1]).clamp(min=0)
    wg, hg = target[..., 2] - target[..., 0], target[..., 3] - target[..., 1]
    lo, hi = torch.max(pred[..., :2], target[..., :2]), torch.min(pred[..., 2:], target[..., 2:])
    iw, ih = (hi - lo).clamp(min=0).unbind(-1)
    inter = iw * ih
    union = w * h + wg * hg - inter + eps
    ew = torch.max(pred[..., 2], target[..., 2]) - torch.min(pred[..., 0], target[..., 0])
    eh = torch.max(pred[..., 3], target[..., 3]) - torch.min(pred[..., 1], target[..., 1])
    cx = (pred[..., 0] + pred[..., 2] - target[..., 0] - target[..., 2]) / 2
    cy = (pred[..., 1] + pred[..., 3] - target[..., 1] - target[..., 3]) / 2
    return BoxGeometry(iou=inter / union, union=union, enclose_w=ew, enclose_h=eh,
                       rho2=cx ** 2 + cy ** 2, w=w, h=h, w_gt=wg, h_gt=hg)


def iou_aligned(pred: Tensor, target: Tensor) -> Tensor:
    return box_geometry(pred, target).iou
