"""Static: fixed loss weights (the hand-tuned baseline)."""
import torch

from .base import Balancer, check_number, register


@register
class Static(Balancer):
    """Constant weights: ``cls_weight * cls_loss, reg_weight * reg_loss``.

    The usual detector recipe (e.g. RetinaNet's 1:1, or a hand-tuned ratio); it has no
    state beyond its settings.
    """

    name = "static"
    # Fixed weights go into the anchor head's own loss weights, as ALWA Table 1 sets them.
    head_loss_weights = ("cls_weight", "reg_weight")
    _config_keys = ("cls_weight", "reg_weight")

    def __init__(self, cls_weight: float = 1.0, reg_weight: float = 1.0):
        self.cls_weight = check_number("Static", "cls_weight", cls_weight, positive=True)
        self.reg_weight = check_number("Static", "reg_weight", reg_weight, positive=True)

    def forward(self, cls_loss: torch.Tensor, reg_loss: torch.Tensor):
        return cls_loss * self.cls_weight, reg_loss * self.reg_weight

    def current_weights(self) -> tuple[float, float]:
        return self.cls_weight, self.reg_weight
