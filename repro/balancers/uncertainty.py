"""Uncertainty weighting: learned homoscedastic task uncertainties."""
import torch
from torch import nn

from .base import Balancer, check_loss, check_number, register


@register
class UncertaintyWeighting(nn.Module, Balancer):
    """Homoscedastic uncertainty weighting of Kendall, Gal and Cipolla, "Multi-Task
    Learning Using Uncertainty to Weigh Losses for Scene Geometry and Semantics",
    CVPR 2018.

    Each task has a learned log-variance s_k = log(sigma_k^2) and
    ``L_k_weighted = exp(-s_k) * L_k + s_k``: the common simplified form of the paper's
    ``1/(2 sigma^2) L + log sigma``, which drops the constant 1/2 factors (it is the
    form used by most re-implementations and is stable for s_k -> -inf/+inf).

    Unlike the other balancers the weights are NOT constants: gradients flow into s_k,
    so this is an ``nn.Module`` whose parameters must be handed to the optimiser (and
    moved with the model). Its state dict is the ``nn.Module`` one (the two parameters).
    ``weights`` reports exp(-s_k).
    """

    name = "uncertainty"
    learned = True

    def __init__(self, init_log_var: float = 0.0):
        nn.Module.__init__(self)
        init = check_number("UncertaintyWeighting", "init_log_var", init_log_var)
        self.log_var_cls = nn.Parameter(torch.tensor(init))
        self.log_var_reg = nn.Parameter(torch.tensor(init))

    def forward(self, cls_loss: torch.Tensor, reg_loss: torch.Tensor):
        check_loss("cls_loss", cls_loss)
        check_loss("reg_loss", reg_loss)
        return (self._weigh(cls_loss, self.log_var_cls),
                self._weigh(reg_loss, self.log_var_reg))

    @staticmethod
    def _weigh(loss: torch.Tensor, log_var: torch.Tensor) -> torch.Tensor:
        log_var = log_var.to(loss.dtype)
        return torch.exp(-log_var) * loss + log_var

    def current_weights(self) -> tuple[float, float]:
        return (float(torch.exp(-self.log_var_cls.detach())),
                float(torch.exp(-self.log_var_reg.detach())))
