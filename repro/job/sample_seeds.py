"""Each training sample's random transforms drawn from its own seed: (run seed, epoch,
sample index), whichever process loads it, however many batches a resume skipped.

Why (the profile flag `sample_seeds`; paper: on): MMDetection's pipeline draws its random
flips from the global generators of the process that loads the image. With dataloader
workers (the paper profile's `workers: 2`), each worker's generators are seeded once when
the worker starts (mmengine's worker_init_fn: seed + worker id) and then run on across
the samples it happens to load and, with persistent workers, across epochs. A job that
resumes mid-epoch (repro/job/resumable_loop.py) starts fresh workers and skips the done
batches without loading them, so the rest of the epoch would flip other images than the
uninterrupted run did (the same distribution, not the same draws), and the resumed
record would not equal an uninterrupted run's (issue 12, point 3). Seeding per sample
makes the draws a function of what is loaded, never of who loads it: numpy's, Python's
and torch's CPU generators are set from (seed, epoch, index) for the one sample, and put
back afterwards, so nothing else that draws from them (torch's RPN and RoI samplers in
the training process, with `workers: 0`) sees a difference. A deviation from
MMDetection's draws, not from their distribution: each sample is still flipped with
probability 0.5, independently across samples and epochs.

How: `SampleEpochBatchSampler` (outermost batch sampler) hands the loader `(epoch, index)`
pairs, the epoch read from the sampler (mmengine's DefaultSampler, set each epoch by
DistSamplerSeedHook); `SampleSeededDataset` (outermost dataset) builds the dataset its
config wraps and loads each pair's index under that pair's seed. `apply_sample_seeds` is
the config delta (repro/job/mmdet_config.py).
"""
from __future__ import annotations

import random
from contextlib import contextmanager

import numpy as np
import torch
from mmengine.config import Config
from mmengine.registry import DATA_SAMPLERS, DATASETS
from omegaconf import DictConfig

from repro.core.errors import ReproError


def sample_seed(seed: int, epoch: int, index: int) -> int:
    """The 32-bit seed of one sample's transforms (numpy's SeedSequence mixes the three)."""
    return int(np.random.SeedSequence([int(seed), int(epoch), int(index)]).generate_state(1)[0])


@contextmanager
def seeded(seed: int):
    """numpy's, Python's and torch's CPU generators set from `seed` inside, put back after
    (torch's default CPU generator only: a CUDA generator is never touched)."""
    np_state, py_state = np.random.get_state(), random.getstate()
    torch_state = torch.random.default_generator.get_state()
    np.random.seed(seed)
    random.seed(seed)
    torch.random.default_generator.manual_seed(seed)
    try:
        yield
    finally:
        np.random.set_state(np_state)
        random.setstate(py_state)
        torch.random.default_generator.set_state(torch_state)


def _delegate(attribute: str):
    """A __getattr__ that reads what a wrapper lacks from its wrapped object (the one in
    `attribute`); guarded so that unpickling (spawned workers) cannot recurse."""
    def __getattr__(self, name: str):
        inner = self.__dict__.get(attribute)
        if inner is None or name.startswith("__"):
            raise AttributeError(name)
        return getattr(inner, name)
    return __getattr__


@DATASETS.register_module()
class SampleSeededDataset(torch.utils.data.Dataset):
    """The dataset `wraps` names, built from the other keys of this config entry (so the
    config keeps the shipped dataset's keys where they were), each `(epoch, index)` item
    loaded under `sample_seed(seed, epoch, index)`. A plain index loads as the wrapped
    dataset would (no reseeding)."""

    def __init__(self, wraps: str, seed: int, **entry) -> None:
        self.dataset = DATASETS.build(dict(type=wraps, **entry))
        self.seed = int(seed)

    def __getitem__(self, key):
        if isinstance(key, (tuple, list)):
            epoch, index = key
            with seeded(sample_seed(self.seed, epoch, index)):
                return self.dataset[int(index)]
        return self.dataset[key]

    def __getitems__(self, keys: list) -> list:  # torch's fetcher: never past __getitem__
        return [self[k] for k in keys]

    def __len__(self) -> int:
        return len(self.dataset)

    __getattr__ = _delegate("dataset")  # its metainfo, get_data_info, full_init, ...


@DATA_SAMPLERS.register_module()
class SampleEpochBatchSampler:
    """A config's batch sampler (`inner`; None: torch's BatchSampler) whose batches hold
    `(epoch, index)` pairs for SampleSeededDataset. Every other attribute is the inner
    sampler's (e.g. ResumableBatchSampler's skip_next)."""

    def __init__(self, sampler, batch_size: int, inner: dict | None = None,
                 drop_last: bool = False) -> None:
        if not hasattr(sampler, "epoch"):
            raise ReproError(f"profile.sample_seeds needs a sampler that counts epochs "
                             f"(mmengine's DefaultSampler), not {type(sampler).__name__}; "
                             f"set profile.sample_seeds=false for this config")
        if inner is None:
            self.inner = torch.utils.data.BatchSampler(sampler, batch_size, drop_last)
        else:
            self.inner = DATA_SAMPLERS.build(inner, default_args=dict(
                sampler=sampler, batch_size=batch_size))
        self.sampler, self.batch_size = sampler, batch_size

    def __iter__(self):
        for batch in self.inner:
            epoch = int(self.sampler.epoch)  # read per batch: set before the pass begins
            yield [(epoch, int(i)) for i in batch]

    def __len__(self) -> int:
        return len(self.inner)

    __getattr__ = _delegate("inner")


def apply_sample_seeds(mm: Config, cfg: DictConfig) -> None:
    """profile.sample_seeds: the training set and its batch sampler as above (last of the
    train loader's deltas: it wraps what the others built)."""
    if not cfg.profile.get("sample_seeds"):
        return
    loader = mm.train_dataloader
    dataset = dict(loader.dataset)
    loader.dataset = dict(type="SampleSeededDataset", wraps=dataset.pop("type"),
                          seed=int(cfg.seed), **dataset)
    loader.batch_sampler = dict(type="SampleEpochBatchSampler",
                                inner=loader.get("batch_sampler"))
