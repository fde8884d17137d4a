"""ALWA: adaptive loss weight adjustment for the cls/reg pair of a detector head."""
import torch
import torch.distributed as dist

from .base import Balancer, SettingError, check_number, check_positive_int, register


@register
class ALWA(Balancer):
    """Adaptive Loss Weight Adjustment, as in the authors' released code.

    Weighted losses: ``L_cls = alpha * lambda0 * cls_loss`` and ``L_reg = lambda0 *
    reg_loss``, alpha starting at 1. The weighted (detached) values of every call go into
    two windows S_cls, S_reg. Once a window holds ``interval`` (C) values, a spread
    statistic of each window is compared:

    * variant 1 (ALWA_1): ``mean(S) + std(S)``
    * variant 2 (ALWA_2): ``std(S)``

    (std = sample std, ddof=1). If the classification statistic exceeds the regression
    one, alpha is REPLACED by ``reg / cls`` (not multiplied into it, so alpha can rise
    again after a fall and never exceeds 1 once set); otherwise alpha is kept. Both
    windows are then emptied. The new alpha applies from the next call on: the call that
    completes a window is weighted with the old alpha.

    The windows are kept as lists of detached device tensors, so there is one host-device
    synchronisation per window (at the update), none per call.

    ``sync`` is a DEVIATION flag: when True and torch.distributed is initialised, the
    two window statistics are averaged over ranks before the comparison, so every rank
    holds the same alpha. The default (False) keeps a per-process alpha, as the released
    code does.
    """

    name = "alwa"
    _state_keys = ("alpha", "window_cls", "window_reg")
    _config_keys = ("variant", "interval", "lambda0")

    def __init__(self, variant: int = 2, interval: int = 100, lambda0: float = 1.0,
                 sync: bool = False):
        if type(variant) is not int or variant not in (1, 2):  # refuses True, 2.0
            raise SettingError("ALWA", "variant", variant, "must be 1 (mean+std) or 2 (std)")
        self.variant = variant
        self.interval = check_positive_int("ALWA", "interval", interval)
        self.lambda0 = check_number("ALWA", "lambda0", lambda0, positive=True)
        self.sync = bool(sync)
        self.alpha = 1.0
        self.window_cls: list[torch.Tensor] = []
        self.window_reg: list[torch.Tensor] = []

    @classmethod
    def window_log(cls, settings) -> dict:
        """The trackers log each window's statistics (repro/job/tracking.py)."""
        return {"interval": int(settings["interval"]), "variant": int(settings["variant"])}

    def forward(self, cls_loss: torch.Tensor, reg_loss: torch.Tensor):
        weighted_cls = cls_loss * (self.alpha * self.lambda0)
        weighted_reg = reg_loss * self.lambda0
        self.window_cls.append(weighted_cls.detach())
        self.window_reg.append(weighted_reg.detach())
        if len(self.window_cls) >= self.interval:
            self._update()
        return weighted_cls, weighted_reg

    def current_weights(self) -> tuple[float, float]:
        return self.alpha * self.lambda0, self.lambda0

    def _update(self) -> None:
        stats = torch.stack([self._statistic(self.window_cls),
                             self._statistic(self.window_reg)])
        if self.sync and dist.is_available() and dist.is_initialized():
            dist.all_reduce(stats, op=dist.ReduceOp.SUM)
            stats = stats / dist.get_world_size()
        cls_stat, reg_stat = stats.tolist()  # the one host sync per window
        if cls_stat > reg_stat:
            self.alpha = reg_stat / cls_stat
        self.window_cls = []
        self.window_reg = []

    def _statistic(self, window: list[torch.Tensor]) -> torch.Tensor:
        values = torch.stack([v.reshape(()) for v in window]).double()
        # The sample std of a single value is undefined (0/0). With interval == 1 we take
        # it as 0: ALWA_2 then never changes alpha, ALWA_1 compares the two raw values.
        if values.numel() > 1:
            std = values.std(correction=1)
        else:
            std = torch.zeros((), dtype=values.dtype, device=values.device)
        return std if self.variant == 2 else values.mean() + std
