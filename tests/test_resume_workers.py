"""Mid-epoch resume with dataloader workers (the paper profile's `workers: 2`): with
profile.sample_seeds each sample's random flips come from (seed, epoch, index), so a run
preempted mid-epoch, whose resumed epoch starts fresh workers and skips the done batches
without loading them, ends with the uninterrupted run's record (issue 12, point 3).
Without the flag the resumed epoch flips other images and the records differ."""
import random

import numpy as np
import pytest
import torch

from test_resume import EPOCHS, record, run_dir, run_job, status

# The smoke profile keeps MMDetection's draws (sample_seeds: false); the paper profile sets it true.
WORKERS = [*EPOCHS, "profile.workers=2", "profile.sample_seeds=true"]


@pytest.mark.training
def test_an_epoch_run_with_workers_preempted_mid_epoch_resumes_with_the_same_flips(tmp_path):
    whole, broken = tmp_path / "whole", tmp_path / "broken"
    done = run_job(whole, args=WORKERS, images=24)
    assert done.returncode == 0, done.stderr[-2000:]
    # USR2 after iteration 9 (epoch 2's third batch): its checkpoint, then the resumed job's
    # fresh workers load only epoch 2's last 3 batches.
    stopped = run_job(broken, args=WORKERS, images=24, interrupt={"at": 9, "signal": "SIGUSR2"})
    assert stopped.returncode == 75, stopped.stderr[-2000:]
    resumed = run_job(broken, args=WORKERS, images=24)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert status(broken)["resumed_from"] == 9
    log = (run_dir(broken) / "run.log").read_text()
    assert "resuming epoch 2 after its first 3 batches" in log
    rows_whole, metrics_whole = record(whole)
    assert [r["iter"] for r in rows_whole] == list(range(1, 13))
    assert record(broken) == (rows_whole, metrics_whole)  # every loss and LR, the metrics


def test_a_samples_draws_depend_on_seed_epoch_and_index_only_and_leave_the_process_as_is():
    from repro.job.sample_seeds import sample_seed, seeded

    def draws(seed):
        with seeded(seed):
            return np.random.rand(3).tolist(), random.random(), torch.rand(2).tolist()

    np.random.seed(1)
    random.seed(1)
    torch.manual_seed(1)
    before = (np.random.get_state()[1].copy(), random.getstate(), torch.get_rng_state())
    first = draws(sample_seed(0, 1, 17))
    after = (np.random.get_state()[1], random.getstate(), torch.get_rng_state())
    assert (before[0] == after[0]).all() and before[1] == after[1]
    assert torch.equal(before[2], after[2])  # the caller's generators are untouched
    np.random.rand(5), random.random(), torch.rand(4)  # another process's history
    assert draws(sample_seed(0, 1, 17)) == first
    others = [draws(sample_seed(*k)) for k in ((1, 1, 17), (0, 2, 17), (0, 1, 18))]
    assert all(o != first for o in others)


def test_the_batch_sampler_tags_each_index_with_the_samplers_epoch():
    from mmengine.dataset import DefaultSampler, InfiniteSampler

    from repro.core.errors import ReproError
    from repro.job.sample_seeds import SampleEpochBatchSampler

    sampler = DefaultSampler(list(range(6)), shuffle=True, seed=3)
    batches = SampleEpochBatchSampler(sampler, batch_size=4)
    sampler.set_epoch(2)
    order = list(iter(sampler))
    assert list(batches) == [[(2, i) for i in order[:4]], [(2, i) for i in order[4:]]]
    assert len(batches) == 2
    with pytest.raises(ReproError, match="needs a sampler that counts epochs"):
        SampleEpochBatchSampler(InfiniteSampler(list(range(6)), seed=3), batch_size=4)
