"""Shared plumbing for the two-task (classification, regression) loss balancers.

A balancer is called once per training iteration with the two UNWEIGHTED losses of one
detector head and returns the two WEIGHTED losses. Gradients flow through the losses; the
weights are constants for the backward pass unless a balancer says otherwise.
"""
import math
from numbers import Real

import torch

from repro.core.outcomes import OVERFLOW


class BalancerOverflow(FloatingPointError):
    """A balancer's weight computation produced inf/nan (the papers' "overflow" outcome)."""

    kind = OVERFLOW


class Balancer:
    """Base class: `__call__` -> `forward`, the `weights` dict, and a state dict.

    Subclasses list every attribute that changes during training in `_state_keys` and
    every constructor setting that a saved state depends on in `_config_keys`; the state
    dict holds both, and loading refuses a state saved under different settings (a
    resumed run would silently diverge otherwise).
    """

    _state_keys: tuple[str, ...] = ()
    _config_keys: tuple[str, ...] = ()

    def __call__(self, cls_loss: torch.Tensor, reg_loss: torch.Tensor, **kwargs):
        check_loss("cls_loss", cls_loss)
        check_loss("reg_loss", reg_loss)
        return self.forward(cls_loss, reg_loss, **kwargs)

    def forward(self, cls_loss: torch.Tensor, reg_loss: torch.Tensor, **kwargs):
        raise NotImplementedError

    def current_weights(self) -> tuple[float, float]:
        """(cls, reg) weights the next call will apply."""
        raise NotImplementedError

    @property
    def weights(self) -> dict[str, float]:
        cls_w, reg_w = self.current_weights()
        return {"cls": float(cls_w), "reg": float(reg_w)}

    def state_dict(self) -> dict:
        state = {k: _copy(getattr(self, k)) for k in self._state_keys}
        state["config"] = {k: getattr(self, k) for k in self._config_keys}
        return state

    def load_state_dict(self, state: dict) -> None:
        expected = set(self._state_keys) | {"config"}
        if set(state) != expected:
            raise KeyError(f"{type(self).__name__} state keys {sorted(state)} "
                           f"!= expected {sorted(expected)}")
        mine = {k: getattr(self, k) for k in self._config_keys}
        if state["config"] != mine:
            raise ValueError(f"{type(self).__name__} state was saved with settings "
                             f"{state['config']}, this balancer has {mine}")
        for k in self._state_keys:
            setattr(self, k, _copy(state[k]))


def _copy(value):
    """Deep copy of plain state (tensors detached and cloned, lists copied)."""
    if isinstance(value, torch.Tensor):
        return value.detach().clone()
    if isinstance(value, (list, tuple)):
        return [_copy(v) for v in value]
    return value


def check_loss(name: str, loss) -> None:
    """Losses are single-element tensors; a shape check is free (no device sync)."""
    if not isinstance(loss, torch.Tensor) or loss.numel() != 1:
        raise ValueError(f"{name} must be a single-element tensor, got "
                         f"{type(loss).__name__} {getattr(loss, 'shape', '')}")


def check_number(name: str, value, *, positive=False, nonnegative=False) -> float:
    """A finite real number (bools refused); returns it as float."""
    if isinstance(value, bool) or not isinstance(value, Real) or not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    if positive and value <= 0:
        raise ValueError(f"{name} must be > 0, got {value!r}")
    if nonnegative and value < 0:
        raise ValueError(f"{name} must be >= 0, got {value!r}")
    return float(value)


def check_positive_int(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}")
    return value
