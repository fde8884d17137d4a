"""Task KPIs for DTP from a detector head's per-anchor tensors (pure torch, no mmdet).

DTP (Guo et al., ECCV 2018) weighs a task by how well it is doing, measured by a key
performance indicator in [0, 1]. For a detector's (cls, reg) pair the KPIs are our
choice (methods.md section 2):

* classification, ``cls_kpi`` in the balancer config:
  - ``"accuracy"``: the fraction of the anchors the loss counts (label weight > 0:
    the sampled positives and negatives of the RPN, every non-ignored anchor of
    RetinaNet) whose predicted label is their target label, background included, like
    MMDetection's ``acc`` of the RoI head;
  - ``"true_prob"``: the mean probability the head gives the true class of its
    positive anchors.
* regression: the mean IoU of the decoded positive predictions with their target boxes.

Positives are the anchors whose label is a foreground class, ``0 <= label <
num_classes`` (MMDetection labels background ``num_classes``). Scores are the head's
raw outputs: sigmoid heads give one column per foreground class; softmax heads one more,
the last, for background. The functions return per-element values so that a caller can
add them up over FPN levels and images before taking the mean; none reads back to the
host.
"""
from __future__ import annotations

import torch

# The classification KPIs a head tap can read (a KPI-taking rule's config chooses one).
CLS_KPIS = ("accuracy", "true_prob")
SIGMOID_THRESHOLD = 0.5  # a sigmoid head predicts background when no class reaches it


def positives(labels: torch.Tensor, num_classes: int) -> torch.Tensor:
    """Boolean mask of the anchors labelled with a foreground class."""
    return (labels >= 0) & (labels < num_classes)


def true_class_probability(scores: torch.Tensor, labels: torch.Tensor, num_classes: int,
                           use_sigmoid: bool) -> torch.Tensor:
    """The probability of the true class, one value per positive anchor.

    scores: (M, C) raw scores (C = num_classes for sigmoid, num_classes + 1 for softmax);
    labels: (M,) target labels.
    """
    pos = positives(labels, num_classes)
    s, lab = scores[pos].float(), labels[pos].long()
    probs = s.sigmoid() if use_sigmoid else s.softmax(dim=-1)
    return probs.gather(1, lab[:, None]).squeeze(1)


def predicted_labels(scores: torch.Tensor, num_classes: int, use_sigmoid: bool) -> torch.Tensor:
    """The label a head predicts per anchor; ``num_classes`` stands for background.

    Sigmoid: the most probable class if its probability reaches 0.5, else background.
    Softmax: the arg max over the classes and background.
    """
    s = scores.float()
    if not use_sigmoid:
        return s.argmax(dim=-1)
    best, label = s.sigmoid().max(dim=-1)
    return torch.where(best >= SIGMOID_THRESHOLD, label, torch.full_like(label, num_classes))


def correct_predictions(scores: torch.Tensor, labels: torch.Tensor,
                        weights: torch.Tensor | None, num_classes: int,
                        use_sigmoid: bool) -> torch.Tensor:
    """1.0 / 0.0 per counted anchor (weight > 0; all when weights is None): predicted
    label == target label, background included."""
    if weights is not None:
        keep = weights > 0
        scores, labels = scores[keep], labels[keep]
    return (predicted_labels(scores, num_classes, use_sigmoid) == labels.long()).float()


def aligned_iou(boxes: torch.Tensor, targets: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    """IoU of boxes[i] with targets[i], both (M, 4) as (x1, y1, x2, y2); (M,) values.

    The union is clamped to ``eps`` so that two degenerate boxes give 0, not nan.
    """
    b, t = boxes.float(), targets.float()
    wh = (torch.min(b[:, 2:], t[:, 2:]) - torch.max(b[:, :2], t[:, :2])).clamp(min=0)
    inter = wh[:, 0] * wh[:, 1]
    area_b = (b[:, 2] - b[:, 0]).clamp(min=0) * (b[:, 3] - b[:, 1]).clamp(min=0)
    area_t = (t[:, 2] - t[:, 0]).clamp(min=0) * (t[:, 3] - t[:, 1]).clamp(min=0)
    return inter / (area_b + area_t - inter).clamp(min=eps)


def mean_or_none(total: float, count: float) -> float | None:
    """The KPI of an iteration: None when nothing was counted (DTP then keeps its k)."""
    return total / count if count > 0 else None
