"""Interrupting a training from inside it, at an exact iteration (tests only).

`InterruptAtHook(at, signal)` sends `signal` to its own process right after iteration
`at` (after the record flush and mmengine's checkpoint of that iteration, before the
harness's own save hook): a kill that cannot miss, whatever the machine's speed.
`tear=True` first leaves half a row at the end of scalars.jsonl, as a kill in the middle
of the record's append would. tests/test_resume.py's JOB script adds it to a cell.
"""
from __future__ import annotations

import os
import signal as signals

from mmengine.hooks import Hook
from mmengine.registry import HOOKS


@HOOKS.register_module()
class InterruptAtHook(Hook):
    # After RunRecordHook's row (LOW, 70) and mmengine's checkpoint (VERY_LOW, 90), before
    # the harness's SaveOnRequestHook (LOWEST, 100), which then acts in this iteration.
    priority = 95

    def __init__(self, at: int, signal: str = "SIGKILL", tear: bool = False,
                 record: str | None = None, rank: int | None = None) -> None:
        self.at, self.signal, self.tear, self.record = at, signal, tear, record
        self.rank = rank  # None: every rank

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
        if runner.iter + 1 != self.at or self.rank not in (None, runner.rank):
            return
        if self.tear:
            from repro.job.hooks import RunRecordHook

            for hook in runner.hooks:
                if isinstance(hook, RunRecordHook):
                    hook.flush()
            with open(self.record, "a") as f:
                f.write('{"iter": %d, "loss": 0.' % (self.at + 1))
        os.kill(os.getpid(), getattr(signals, self.signal))
