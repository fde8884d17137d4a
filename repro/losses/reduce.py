"""Element weights and reduction, with MMDetection's conventions (mean / sum / none and
an `avg_factor` that replaces the element count of a mean)."""
from __future__ import annotations

import torch
from torch import Tensor


def weight_reduce(loss: Tensor, weight: Tensor | None = None, reduction: str = "mean",
                  avg_factor: float | None = None) -> Tensor:
    """`loss * weight`, then reduced. With `avg_factor`, "mean" is sum / avg_factor."""
    if weight is not None:
        if weight.dim() == loss.dim() + 1 and weight.size(-1) == 4:  # per-coordinate box weights
            weight = weight.mean(-1)
        loss = loss * weight
    if reduction == "none":
        return loss
    if reduction == "sum":
        return loss.sum()
    if reduction != "mean":
        raise ValueError(f"reduction must be none, mean or sum, not {reduction!r}")
    if avg_factor is None:
        return loss.mean()
    eps = torch.finfo(torch.float32).eps  # as MMDetection, so an avg_factor of 0 gives 0
    return loss.sum() / (avg_factor + eps)
