"""DWA: Dynamic Weight Average, period-averaged loss descent rates through a softmax."""
import math

import torch

from .base import Balancer, BalancerOverflow, check_number, check_positive_int, register

NUM_TASKS = 2  # K: classification and regression


@register
class DWA(Balancer):
    """Dynamic Weight Average of Liu, Johns and Davison, "End-to-End Multi-Task Learning
    with Attention", CVPR 2019.

    The unweighted loss of each task is averaged over each period of ``period`` calls
    (the paper's epoch), giving Lbar_k(t). For period t >= 2 the weights are

        w_k = Lbar_k(t-1) / Lbar_k(t-2),   lambda_k = K * exp(w_k / T) / sum_j exp(w_j / T)

    with K = 2 tasks and temperature T; the first two periods use lambda_k = 1.

    As in the reference implementation (MTAN), exp(w_k / T) is taken plainly, without the
    max-subtraction trick, in the loss dtype (float32 there). An inf/nan result raises
    ``BalancerOverflow``, reproducing the paper's "overflow" outcome instead of training
    on nan weights. The weights are recomputed (one host sync) when a period ends and
    apply from the next call: the call that closes a period uses the old weights.
    """

    name = "dwa"
    epoch_setting = "period"  # the paper's period is an epoch
    _state_keys = ("period_sum", "calls_in_period", "history", "lambdas")
    _config_keys = ("period", "temperature")

    def __init__(self, period: int, temperature: float = 2.0):
        self.period = check_positive_int("DWA", "period", period)
        self.temperature = check_number("DWA", "temperature", temperature, positive=True)
        self.period_sum: torch.Tensor | None = None  # (2,) sum of this period's losses
        self.calls_in_period = 0
        self.history: list[torch.Tensor] = []  # the last two period means, oldest first
        self.lambdas = [1.0, 1.0]

    def forward(self, cls_loss: torch.Tensor, reg_loss: torch.Tensor):
        weighted = cls_loss * self.lambdas[0], reg_loss * self.lambdas[1]
        losses = torch.stack([cls_loss.detach().reshape(()), reg_loss.detach().reshape(())])
        self.period_sum = losses if self.period_sum is None else self.period_sum + losses
        self.calls_in_period += 1
        if self.calls_in_period == self.period:
            self._end_period()
        return weighted

    def current_weights(self) -> tuple[float, float]:
        return self.lambdas[0], self.lambdas[1]

    def _end_period(self) -> None:
        self.history = (self.history + [self.period_sum / self.period])[-2:]
        self.period_sum = None
        self.calls_in_period = 0
        if len(self.history) == 2:
            self.lambdas = self._softmax_weights(*self.history)

    def _softmax_weights(self, before: torch.Tensor, last: torch.Tensor) -> list[float]:
        rates = last / before
        exps = torch.exp(rates / self.temperature)
        lambdas = NUM_TASKS * exps / exps.sum()
        values = torch.cat([exps, lambdas]).tolist()  # the one host sync per period
        if not all(math.isfinite(v) for v in values):
            raise BalancerOverflow(
                f"DWA weights overflowed: loss ratios {rates.tolist()} / T="
                f"{self.temperature} give exp {values[:2]} in {exps.dtype}")
        return values[2:]
