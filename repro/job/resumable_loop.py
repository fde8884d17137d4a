"""Epoch-based training that resumes mid-epoch, on the same data order.

mmengine's EpochBasedTrainLoop resumes at the start of the checkpoint's epoch: a
checkpoint saved mid-epoch (a preemption, the wall-clock interval: preemption.py) would
train that epoch's first batches twice and shift every later LR step. This loop starts
the resumed epoch after the batches it already trained: the sampler is seeded for the
epoch as before (DistSamplerSeedHook), and `ResumableBatchSampler` drops the done
batches as index lists, before any image is loaded, so a skip costs microseconds per
batch, not a pass over the data; numpy's and Python's generators are set back to their
state at the checkpoint (checkpointing.py), so the pipeline's random flips continue as
they would have where the training process loads the images (workers: 0); with workers,
`profile.sample_seeds` makes each sample's flips its own (sample_seeds.py). Everything
else is mmengine's loop, unchanged.
"""
from __future__ import annotations

from mmengine.registry import DATA_SAMPLERS, LOOPS
from mmengine.runner.loops import EpochBasedTrainLoop
from torch.utils.data import BatchSampler


@DATA_SAMPLERS.register_module()
class ResumableBatchSampler(BatchSampler):
    """A config's batch sampler (`inner`, e.g. MMDetection's AspectRatioBatchSampler;
    None: torch's BatchSampler) that can drop the first batches of its next pass."""

    def __init__(self, sampler, batch_size: int, inner: dict | None = None,
                 drop_last: bool = False) -> None:
        if inner is None:
            self.inner = BatchSampler(sampler, batch_size, drop_last)
        else:
            self.inner = DATA_SAMPLERS.build(inner, default_args=dict(
                sampler=sampler, batch_size=batch_size))
        self.sampler, self.batch_size = sampler, batch_size
        self.drop_last = getattr(self.inner, "drop_last", drop_last)
        self._skip = 0

    def skip_next(self, batches: int) -> None:
        self._skip = int(batches)

    def __iter__(self):
        skip, self._skip = self._skip, 0
        for i, batch in enumerate(self.inner):
            if i >= skip:
                yield batch

    def __len__(self) -> int:
        return len(self.inner)


@LOOPS.register_module()
class ResumableEpochBasedTrainLoop(EpochBasedTrainLoop):
    def run_epoch(self) -> None:
        done = self._iter - self._epoch * len(self.dataloader)  # batches of this epoch
        self.runner.call_hook("before_train_epoch")
        self.runner.model.train()
        if done > 0:
            self.dataloader.batch_sampler.skip_next(done)
            from repro.job.checkpointing import WeightsOnlyCheckpointHook

            for hook in self.runner.hooks:  # the pipeline's generators as at the checkpoint
                if isinstance(hook, WeightsOnlyCheckpointHook):
                    hook.restore_host_rng()
            self.runner.logger.info(f"resuming epoch {self._epoch + 1} after its first "
                                    f"{done} batches")
        for idx, data_batch in enumerate(self.dataloader, start=max(done, 0)):
            self.run_iter(idx, data_batch)
        self.runner.call_hook("after_train_epoch")
        self._epoch += 1
