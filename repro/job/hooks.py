"""mmengine hooks of a run: the per-iteration record, and divergence as an outcome.

A non-finite total loss stops training with `Diverged('nan')`, which the job records as
status `failed`, class `nan` (a result, ALWA Table 4), instead of training on NaNs; in a
multi-task job every rank stops at the same iteration.
"""
from __future__ import annotations

import json
import math
from pathlib import Path

from mmengine.hooks import Hook
from mmengine.registry import HOOKS

from repro.core import records
from repro.core.outcomes import NAN, Diverged


def _any_rank(flag: bool) -> bool:
    """`flag` on any rank of a distributed run (one tiny all-reduce per iteration; the
    loss was already read to the host above). Alone: `flag`."""
    from mmengine import dist

    if dist.get_world_size() == 1:
        return flag
    import torch

    t = torch.tensor([1.0 if flag else 0.0])
    dist.all_reduce(t, op="max")
    return bool(t.item() > 0)


@HOOKS.register_module()
class RunRecordHook(Hook):
    """Append every iteration's losses (and the LR) to ``scalars.jsonl``.

    Rows are buffered and flushed every `flush_every` iterations, at the end, on a
    failure, and whenever a checkpoint is saved, so the file on disk always covers the
    last checkpoint that a resumed run continues from. Priority LOW: it runs before
    mmengine's CheckpointHook (VERY_LOW) in the same iteration.
    """

    priority = "LOW"

    def __init__(self, path: str, flush_every: int = 50) -> None:
        self.path = path
        self.flush_every = flush_every
        self._lines: list[str] = []

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
        row = {"iter": runner.iter + 1}
        for key, value in (outputs or {}).items():
            row[key] = float(value.detach() if hasattr(value, "detach") else value)
        row["lr"] = float(runner.optim_wrapper.get_lr()["lr"][0])
        self._lines.append(json.dumps(row))
        if len(self._lines) >= self.flush_every:
            self.flush()
        total = row.get("loss")
        bad = total is not None and not math.isfinite(total)
        if _any_rank(bad):  # every rank stops together, as `nan`, whichever saw it first
            self.flush()
            raise Diverged(NAN, f"total loss {total if bad else 'non-finite on another rank'}"
                                  f" at iteration {row['iter']}")

    def before_save_checkpoint(self, runner, checkpoint) -> None:
        self.flush()

    def after_train(self, runner) -> None:
        self.flush()

    def flush(self) -> None:
        if self._lines:  # one write and an fsync: a kill tears at most the last line
            records.append_lines(self.path, self._lines)
            self._lines.clear()


def truncate_record(path, last_iter: int) -> None:
    """Keep the rows up to `last_iter` (a resumed run re-records the rest); a torn last
    line left by a kill is dropped. The shortened file replaces the old one atomically."""
    path = Path(path)
    if not path.exists():
        return
    kept = [row for row in records.read_jsonl(path) if row.get("iter", 0) <= last_iter]
    records.replace_file(path, "".join(json.dumps(row) + "\n" for row in kept))
