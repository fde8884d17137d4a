"""HCRAC, the HCRAL paper's classification loss: a RECONSTRUCTION from its prose and
ablations, not the authors' equations (lost from our copy; no public code; methods.md
section 3). Every symbol is a parameter; the choices made where the prose is silent are
named below so that a reader can change them.

    HCRAC = sum over valid (anchor, class) entries of
            BCE(x, y) * CF * RCI  /  number of valid entries       (GHM-C's normalisation)
    CF    = w_GHM(g) * A(u, y)          the "conditioning factor"
    g     = |sigmoid(x) - y|            the gradient norm GHM-C bins into M intervals
    w_GHM = n_valid / (count of g's bin * number of non-empty bins)   (Li et al., AAAI 2019)
    A     = decay ** (1 - u)   for y = 1 (higher IoU -> larger weight, same GHM bin)
            decay ** u         for y = 0 (weight diminishes as the IoU rises)
    RCI   = exp(k * (u - s))   for y = 1; 1 for y = 0
            (s = sigmoid score: grows exponentially with the residual where the score
            lags the IoU, is 1 where they agree, and suppresses a score above its IoU,
            more strongly as k grows)

u is the IoU of the anchor's decoded box with its target (0 where the head gives none).
All factors are detached: they weight the cross entropy, they are not gradient paths.
Paper values: M = 20 bins, k = 5 (Table 6 sweeps 4..6; its "-" row removes RCI:
rci=False), decay = 0.7 (0.6..0.9). GHM-C's moving average of the bin counts (momentum)
is not named by the paper: its configs (conf/cls_loss/hcrac.yaml) use GHM-C's published
RetinaNet setting, 0.75.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor


def ghm_weights(prob: Tensor, target: Tensor, valid: Tensor, bins: int = 20,
                momentum: float = 0.0, acc: Tensor | None = None) -> Tensor:
    """GHM-C's density weights: n_valid / (bin count * non-empty bins); 0 where invalid.
    With momentum > 0 and `acc` (a per-bin running count, updated in place), the count
    of each non-empty bin is its moving average acc <- m acc + (1 - m) count, as
    GHM-C's reference implementation (MMDetection's GHMC, acc starting at 0)."""
    g = (prob.detach() - target).abs()
    # bin i holds g in [i/M, (i+1)/M); a non-finite score (a diverged model) goes to bin
    # 0 here and makes the loss NaN below, which the run records as the outcome `nan`.
    idx = (g * bins).nan_to_num(0.0).long().clamp(0, bins - 1)
    counts = torch.bincount(idx[valid], minlength=bins).to(prob.dtype)
    n_valid = valid.sum().to(prob.dtype)
    nonempty = (counts > 0).sum().clamp(min=1).to(prob.dtype)
    if momentum > 0 and acc is not None:
        used = counts > 0
        acc[used] = momentum * acc[used] + (1 - momentum) * counts[used].to(acc.dtype)
        counts = torch.where(used, acc.to(prob.dtype), counts)
    w = n_valid / (counts[idx].clamp(min=1e-12) * nonempty)
    return torch.where(valid, w, torch.zeros_like(w))


def adaptive_matrix(iou: Tensor, target: Tensor, decay: float = 0.7) -> Tensor:
    """decay^(1 - u) on positive entries, decay^u on negative ones (reconstruction)."""
    u = iou.clamp(0, 1)
    return torch.where(target > 0, decay ** (1 - u), decay ** u)


def rci_cls(prob: Tensor, iou: Tensor, target: Tensor, k: float = 5.0) -> Tensor:
    """exp(k (u - s)) on positive entries, 1 on negative ones (reconstruction)."""
    return torch.where(target > 0, torch.exp(k * (iou.clamp(0, 1) - prob)), torch.ones_like(prob))


def hcrac_loss(logits: Tensor, labels: Tensor, ious: Tensor | None = None,
               weight: Tensor | None = None, bins: int = 20, pos_weight: float = 5.0,
               decay: float = 0.7, rci: bool = True, reduction: str = "mean",
               momentum: float = 0.0, acc: Tensor | None = None) -> Tensor:
    """logits (N, C); labels (N,) in [0, C], C = background; ious (N,) the IoU of each
    anchor's decoded box with its target (None: all 0); weight (N,) label weights, entries
    of weight 0 are ignored. `pos_weight` is k, the RCI exponent. Mean = sum over valid
    entries / their number (GHM-C), whatever avg_factor the head computed. `momentum`,
    `acc`: GHM-C's moving average of the bin counts (ghm_weights)."""
    n, c = logits.shape
    target = F.one_hot(labels.clamp(max=c), c + 1)[:, :c].to(logits.dtype)
    valid = torch.ones_like(target, dtype=torch.bool) if weight is None else \
        (weight > 0).view(-1, 1).expand(n, c)
    u = logits.new_zeros(n) if ious is None else ious.detach().to(logits.dtype)
    u = u.view(-1, 1).expand(n, c)
    with torch.no_grad():
        prob = logits.sigmoid()
        w = ghm_weights(prob, target, valid, bins, momentum, acc)
        w = w * adaptive_matrix(u, target, decay)
        if rci:
            w = w * rci_cls(prob, u, target, pos_weight)
        if weight is not None:
            w = w * weight.view(-1, 1)
    loss = F.binary_cross_entropy_with_logits(logits, target, reduction="none") * w
    if reduction == "none":
        return loss
    if reduction == "sum":
        return loss.sum()
    return loss.sum() / valid.sum().clamp(min=1)
