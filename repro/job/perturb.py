"""A rounding-sized perturbation of a run, for the noise benchmark (issue 11, point 4).

`perturb_init=true` moves every floating-point weight of the freshly initialised model
(pretrained backbone included) by one unit in the last place towards +inf before the
first iteration: the size of the difference two machines' rounding makes. A training
regime whose result moves by more than its seed-to-seed noise under it is chaotic, and
its single-seed numbers mean nothing (scripts/benchmark_noise.py measures it).
"""
from __future__ import annotations

from mmengine.hooks import Hook
from mmengine.registry import HOOKS


@HOOKS.register_module()
class PerturbInitHook(Hook):
    priority = "VERY_HIGH"

    def before_train(self, runner) -> None:
        if runner.iter != 0:  # a resumed run continues from its checkpoint unchanged
            return
        import torch

        with torch.no_grad():
            for p in runner.model.parameters():
                if p.is_floating_point():
                    p.copy_(torch.nextafter(p, torch.full_like(p, float("inf"))))
