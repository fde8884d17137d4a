"""A preempted or timed-out job loses the iteration in flight, not an epoch.

SLURM warns a job `signal_delay_s` before it ends it (preemption or the time limit):
submitit's `--signal=USR2@<delay>` calls its handler, which requeues the job (through the
launcher's `checkpoint()`) and exits, anywhere in the training. The job (run_cell.py)
arms `SIGUSR2` first: the signal only notes the request, and `SaveOnRequestHook` acts at
the next iteration boundary: it saves a checkpoint of the iteration just done (model,
optimizer, schedulers, balancer state, torch RNG; mid-epoch too, see resumable_loop.py),
then hands over to the handler it displaced (submitit: requeue and exit; after the last
requeue submitit raises, and the job records `failed/timeout`). Without submitit (a local
run, a test) the job exits with `PREEMPTED_EXIT` and its record says `running`, so the
next launch resumes it.

Against hard kills (OOM killer, node failure, `scancel`) the hook also saves every
`profile.checkpoint_minutes` of wall clock. In a multi-task job the ranks agree on both
decisions with one small all-reduce per iteration, so they save at the same iteration.

After any save the hook deletes every other checkpoint of the run (bounded disk: the one
a resume needs, plus the one being written while it is written).
"""
from __future__ import annotations

import signal
import time
from pathlib import Path

from mmengine.hooks import Hook
from mmengine.registry import HOOKS

from repro.job.checkpointing import POINTER, point_at, prune

PREEMPTED_EXIT = 75  # EX_TEMPFAIL: interrupted, resumable
_SIGNALS = (signal.SIGUSR2,)
_requested: list[int] = []
_displaced: dict[int, object] = {}


class Preempted(SystemExit):
    """The job stops on the scheduler's request after saving (not an outcome: the
    record stays `running` and the next attempt resumes)."""


def _note(signum, frame) -> None:  # noqa: ARG001 - a signal handler's signature
    _requested.append(signum)


def arm() -> None:
    """Route the scheduler's warning signal to the hook (main thread only)."""
    _requested.clear()
    for sig in _SIGNALS:
        try:
            previous = signal.signal(sig, _note)
        except ValueError:  # not the main thread: leave the signal as it is
            continue
        if previous is not _note:
            _displaced[sig] = previous


def disarm() -> None:
    for sig, previous in list(_displaced.items()):
        try:
            signal.signal(sig, previous)
        except (ValueError, TypeError):
            pass
        _displaced.pop(sig)


def _agreed(flags: list[bool]) -> list[bool]:
    """Each flag, true on any rank (alone: the flags themselves)."""
    from mmengine import dist

    if dist.get_world_size() == 1:
        return flags
    import torch

    t = torch.tensor([1.0 if f else 0.0 for f in flags])
    dist.all_reduce(t, op="max")
    return [bool(v > 0) for v in t.tolist()]


@HOOKS.register_module()
class SaveOnRequestHook(Hook):
    """Save on the scheduler's signal and every `every_minutes`; keep one checkpoint.
    Priority LOWEST: after mmengine's CheckpointHook in the same iteration."""

    priority = "LOWEST"

    def __init__(self, every_minutes: float | None = None) -> None:
        self.every_s = None if not every_minutes else 60.0 * float(every_minutes)
        self._last_save = time.monotonic()
        self._saved_iter: int | None = None
        self._saved_now = False

    def before_train(self, runner) -> None:
        self._last_save = time.monotonic()

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        self._saved_iter = int(checkpoint["meta"]["iter"])
        self._saved_now = True
        self._last_save = time.monotonic()

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
        due = self.every_s is not None and time.monotonic() - self._last_save >= self.every_s
        stop, due = _agreed([bool(_requested), due])
        if (stop or due) and self._saved_iter != runner.iter + 1:
            save_now(runner)
        self._prune(runner)
        if stop:
            self._hand_over(runner)

    def after_train_epoch(self, runner) -> None:
        self._prune(runner)

    def _prune(self, runner) -> None:
        if not self._saved_now:
            return
        self._saved_now = False
        if runner.rank != 0:
            return
        work_dir = Path(runner.work_dir)
        try:
            keep = Path((work_dir / POINTER).read_text().strip())
        except OSError:
            return
        if keep.is_file():
            prune(work_dir, keep)

    def _hand_over(self, runner) -> None:
        signum = _requested[0]
        previous = _displaced.get(signum)
        runner.logger.warning(f"signal {signal.Signals(signum).name}: saved iteration "
                              f"{runner.iter + 1}, stopping for the requeue")
        if callable(previous):  # submitit: requeue and exit (or raise after the last one)
            previous(signum, None)
            if runner.rank != 0:  # submitit leaves the other tasks be: the requeue ends them
                time.sleep(3600)
        raise Preempted(PREEMPTED_EXIT)


def save_now(runner) -> Path:
    """A checkpoint of the iteration just done (called from after_train_iter): counted in
    iterations, so that an epoch-based run resumes mid-epoch (resumable_loop.py)."""
    name = f"iter_{runner.iter + 1}.pth"
    runner.save_checkpoint(runner.work_dir, name, by_epoch=False, save_optimizer=True,
                           save_param_scheduler=True)
    path = Path(runner.work_dir) / name
    if runner.rank == 0:
        point_at(runner.work_dir, path)
    return path
