"""DTP's KPIs from inside an anchor head: a tap on its per-level loss function.

Every `AnchorHead`-style head of MMDetection (RPNHead, RetinaHead, ATSSHead, ...)
computes its loss level by level in ``loss_by_feat_single``, whose arguments hold all a
KPI needs: the raw scores and box deltas, the anchors, the target labels, label weights
and box targets. The tap wraps that method on one head instance (the class is
untouched), binds the arguments by name (so that ATSS's different argument order works
too), and adds the KPI values of each level to per-iteration sums, under no_grad. The
maths is in `repro.balancers.kpi`; this module only reshapes mmdet's tensors and decodes
boxes with the head's own coder.

A head without ``loss_by_feat_single`` (anchor-free heads such as FCOS compute the loss
in one piece) is refused with a message saying so.
"""
from __future__ import annotations

import inspect

import torch
from mmdet.structures.bbox import get_box_tensor

from repro.balancers import kpi

NEEDED = ("cls_score", "bbox_pred", "anchors", "labels", "label_weights", "bbox_targets")


def unreadable(head_class: type) -> str | None:
    """Why the tap cannot read a head class (None if it can): checkable from a config."""
    method = getattr(head_class, "loss_by_feat_single", None)
    if method is None:
        return (f"DTP's KPIs need an anchor head with loss_by_feat_single; "
                f"{head_class.__name__} has none")
    missing = [n for n in NEEDED if n not in inspect.signature(method).parameters]
    if missing:
        return (f"{head_class.__name__}.loss_by_feat_single has no {missing}: DTP's KPI "
                f"tap cannot read it")
    return None


class HeadKPITap:
    """Per-iteration DTP KPIs (classification, regression) of one anchor head.

    ``reset()`` before the detector's loss, ``read()`` after it: one host read for the
    four sums, returning ``(cls_kpi, reg_kpi)`` floats, None where nothing was counted.
    """

    def __init__(self, head, cls_kpi: str) -> None:
        if cls_kpi not in kpi.CLS_KPIS:
            raise ValueError(f"cls_kpi must be one of {kpi.CLS_KPIS}, got {cls_kpi!r}")
        problem = unreadable(type(head))
        if problem:
            raise TypeError(problem)
        original = head.loss_by_feat_single
        self.head, self.cls_kpi = head, cls_kpi
        self._original, self._signature = original, inspect.signature(original)
        self._sums: torch.Tensor | None = None
        head.loss_by_feat_single = self._tapped  # shadows the class's method on this head

    def reset(self) -> None:
        self._sums = None

    def read(self) -> tuple[float | None, float | None]:
        if self._sums is None:
            return None, None
        cls_sum, cls_n, reg_sum, reg_n = self._sums.tolist()  # the one host read
        return kpi.mean_or_none(cls_sum, cls_n), kpi.mean_or_none(reg_sum, reg_n)

    def _tapped(self, *args, **kwargs):
        out = self._original(*args, **kwargs)
        arguments = self._signature.bind(*args, **kwargs).arguments
        with torch.no_grad():
            level = self._level_sums(**{n: arguments[n] for n in NEEDED})
        self._sums = level if self._sums is None else self._sums + level
        return out

    def _level_sums(self, cls_score, bbox_pred, anchors, labels, label_weights,
                    bbox_targets) -> torch.Tensor:
        head = self.head
        num_classes, sigmoid = head.num_classes, head.use_sigmoid_cls
        coder = head.bbox_coder
        if bbox_pred.size(1) != head.num_base_priors * coder.encode_size:
            raise TypeError(f"{type(head).__name__} predicts {bbox_pred.size(1)} box "
                            f"channels, not {head.num_base_priors} x {coder.encode_size} "
                            f"coder deltas: DTP's KPI tap cannot decode them")
        labels = labels.reshape(-1)
        scores = cls_score.permute(0, 2, 3, 1).reshape(-1, head.cls_out_channels)
        if self.cls_kpi == "accuracy":
            cls_values = kpi.correct_predictions(scores, labels, label_weights.reshape(-1),
                                                 num_classes, sigmoid)
        else:
            cls_values = kpi.true_class_probability(scores, labels, num_classes, sigmoid)
        pos = kpi.positives(labels, num_classes)
        anchors = get_box_tensor(anchors)
        anchors = anchors.reshape(-1, anchors.size(-1))[pos]
        deltas = bbox_pred.permute(0, 2, 3, 1).reshape(-1, coder.encode_size)[pos]
        targets = bbox_targets.reshape(-1, bbox_targets.size(-1))[pos]
        boxes = get_box_tensor(coder.decode(anchors, deltas))
        if not head.reg_decoded_bbox:  # targets are the coder's deltas, not boxes
            targets = get_box_tensor(coder.decode(anchors, targets))
        ious = kpi.aligned_iou(boxes, targets)
        return torch.stack([cls_values.sum(), torch.ones_like(cls_values).sum(),
                            ious.sum(), torch.ones_like(ious).sum()]).double()
