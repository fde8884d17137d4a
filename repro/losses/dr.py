"""DR loss (Qian et al., "DR Loss: improving object detection by distributional ranking",
CVPR 2020), as in the authors' released `SigmoidDRLoss`.

Over all valid (anchor, class) entries of the batch: the negatives' distribution is
re-weighted towards hard (high-score) negatives, q- = softmax(p- / lambda-), the
positives' towards hard (low-score) positives, q+ = softmax(-p+ / lambda+); the ranking
loss is the smoothed hinge (tau / L) * log(1 + exp(L * (E_q-[p-] - E_q+[p+] + margin))).
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

NEG_LAMBDA = 0.1 / math.log(3.5)


def dr_loss(logits: Tensor, labels: Tensor, weight: Tensor | None = None, margin: float = 0.5,
            L: float = 6.0, tau: float = 4.0, pos_lambda: float = 1.0,
            neg_lambda: float = NEG_LAMBDA) -> Tensor:
    """logits (N, C); labels (N,) in [0, C] with C = background; weight (N,) zero for
    ignored anchors. One scalar for the whole batch (the authors' normalisation)."""
    n, c = logits.shape
    onehot = F.one_hot(labels.clamp(max=c), c + 1)[:, :c].bool()
    valid = torch.ones_like(onehot) if weight is None else (weight > 0).view(-1, 1).expand(n, c)
    prob = logits.sigmoid()
    pos_prob, neg_prob = prob[onehot & valid], prob[~onehot & valid]
    neg_dist = (F.softmax(neg_prob / neg_lambda, 0) * neg_prob).sum() if neg_prob.numel() else \
        logits.sum() * 0
    pos_dist = (F.softmax(-pos_prob / pos_lambda, 0) * pos_prob).sum() if pos_prob.numel() else \
        logits.sum() * 0
    # softplus(x) = log(1 + exp(x)), without overflow for large x
    return tau / L * F.softplus(L * (neg_dist - pos_dist + margin))
