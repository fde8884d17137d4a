"""Checkpoints that load with torch's weights-only unpickler, and resume bit-for-bit.

torch >= 2.6 loads with `weights_only=True`, and mmengine's checkpoints hold its
`HistoryBuffer` objects and numpy arrays, which that unpickler refuses (methods.md
section 6). Rather than allow-listing classes (numpy's needs `builtins.getattr`, which
opens everything), the harness never writes them: before a save, the message hub's
buffers become plain tensors and numbers; after a load, they are rebuilt. A checkpoint
this hook did not write is never unpickled freely: mmengine's `torch.load` keeps the
weights-only default for every file.

For a resumed run to continue the same trajectory, the hook also stores torch's RNG
state and restores it at the first resumed iteration: mmengine re-seeds at start and
replays the data pipeline over the skipped batches (so numpy's stream matches), but the
RPN and RoI samplers draw from torch's global generator. It stores numpy's and Python's
states too, for the epoch loop that resumes mid-epoch without replaying the pipeline
(resumable_loop.py): exact where the pipeline runs in the training process (workers: 0).
With dataloader workers their own generators restart, so a resumed epoch's random flips
would differ from an uninterrupted one's (same distribution, not the same draws); hence
`profile.sample_seeds` (paper: on), which seeds each sample's transforms from (seed,
epoch, index) wherever it is loaded (sample_seeds.py).
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch
from mmengine.hooks import Hook
from mmengine.logging import HistoryBuffer
from mmengine.registry import HOOKS

_BUFFER = "__history_buffer__"


def _plain(value):
    """numpy and HistoryBuffer values -> tensors, numbers and dicts the safe loader reads."""
    if isinstance(value, HistoryBuffer):
        return {_BUFFER: True, "max_length": value.max_length,
                "log": torch.from_numpy(np.asarray(value._log_history).copy()),
                "count": torch.from_numpy(np.asarray(value._count_history).copy())}
    if isinstance(value, np.ndarray):
        return torch.from_numpy(value.copy())
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_plain(v) for v in value)
    return value


def _rebuilt(value):
    if isinstance(value, dict) and value.get(_BUFFER):
        return HistoryBuffer(value["log"].numpy(), value["count"].numpy(), value["max_length"])
    if isinstance(value, dict):
        return {k: _rebuilt(v) for k, v in value.items()}
    return value


def _host_rng() -> dict:
    """numpy's and Python's global generator states, in types the safe loader reads."""
    import random

    name, keys, pos, has_gauss, gauss = np.random.get_state()
    version, state, nxt = random.getstate()
    return {"numpy": (name, torch.from_numpy(keys.astype(np.int64)), int(pos), int(has_gauss),
                      float(gauss)),
            "python": (version, list(state), nxt)}


@HOOKS.register_module()
class WeightsOnlyCheckpointHook(Hook):
    priority = "VERY_HIGH"

    def __init__(self) -> None:
        self._rng_to_restore: torch.Tensor | None = None
        self.host_rng: dict | None = None

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        checkpoint["message_hub"] = _plain(checkpoint["message_hub"])
        checkpoint["meta"] = _plain(checkpoint["meta"])
        checkpoint["meta"]["torch_rng_state"] = torch.get_rng_state()
        checkpoint["meta"]["host_rng_state"] = _host_rng()

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        if "message_hub" in checkpoint:  # a resume, not a plain load of weights
            checkpoint["message_hub"] = _rebuilt(checkpoint["message_hub"])
        meta = checkpoint.get("meta", {})
        self._rng_to_restore = meta.pop("torch_rng_state", None)
        self.host_rng = meta.pop("host_rng_state", None)

    def restore_host_rng(self) -> None:
        """numpy's and Python's generators as they were at the checkpoint (the data
        pipeline's random flips in this process): for a resume that skips the done
        batches without loading them (resumable_loop.py)."""
        if self.host_rng is not None:
            import random

            name, keys, pos, has_gauss, gauss = self.host_rng["numpy"]
            np.random.set_state((name, keys.numpy().astype(np.uint32), pos, has_gauss, gauss))
            version, state, nxt = self.host_rng["python"]
            random.setstate((version, tuple(state), nxt))
            self.host_rng = None

    def before_train_iter(self, runner, batch_idx, data_batch=None) -> None:
        if self._rng_to_restore is not None:
            torch.set_rng_state(self._rng_to_restore)
            self._rng_to_restore = None


CHECKPOINT_GLOBS = ("iter_*.pth", "epoch_*.pth")
POINTER = "last_checkpoint"


def _iteration(path: Path) -> int | None:
    """The iteration a checkpoint file holds, or None where it does not load (torn by a
    kill during its save, truncated by a full disk, not ours)."""
    try:
        return int(torch.load(path, map_location="cpu", weights_only=True)["meta"]["iter"])
    except Exception:  # noqa: BLE001 - any unreadable file is simply not a resume point
        return None


def checkpoints(work_dir) -> list[Path]:
    work_dir = Path(work_dir)
    found = [p for g in CHECKPOINT_GLOBS for p in work_dir.glob(g)]
    return sorted(found, key=lambda p: p.stat().st_mtime_ns, reverse=True)


def torn(work_dir) -> list[Path]:
    """The checkpoints in `work_dir` that do not load (a save a kill or a full disk cut
    short): never a resume point, only room taken."""
    return [p for p in checkpoints(work_dir) if _iteration(p) is None]


def resume_point(work_dir) -> tuple[Path, int] | None:
    """The checkpoint a resumed run continues from, and its iteration: the one
    `last_checkpoint` names if it loads, else the newest one that loads; None if none
    does (the run starts afresh, never fails on a checkpoint a kill tore)."""
    work_dir = Path(work_dir)
    pointer = work_dir / POINTER
    named = None
    try:
        named = Path(pointer.read_text().strip())
    except (OSError, ValueError):
        pass
    candidates = ([named] if named is not None and named.is_file() else []) + \
        [p for p in checkpoints(work_dir) if p != named]
    for path in candidates:
        it = _iteration(path)
        if it is not None:
            return path, it
    return None


def resume_iteration(work_dir) -> int | None:
    """The iteration a resumed run continues from in `work_dir`, if any."""
    point = resume_point(work_dir)
    return None if point is None else point[1]


def point_at(work_dir, checkpoint: Path) -> None:
    """`last_checkpoint` names `checkpoint` (written atomically)."""
    from repro.core.records import sync_dir

    pointer = Path(work_dir) / POINTER
    tmp = pointer.with_name(f".{POINTER}.{os.getpid()}")
    tmp.write_text(str(checkpoint))
    os.replace(tmp, pointer)
    sync_dir(pointer.parent)


def prune(work_dir, keep: Path | None) -> list[Path]:
    """Delete every checkpoint but `keep` (the one a resume needs). Returns the deleted."""
    gone = [p for p in checkpoints(work_dir) if keep is None or p.resolve() != Path(keep).resolve()]
    for p in gone:
        p.unlink(missing_ok=True)
    return gone
