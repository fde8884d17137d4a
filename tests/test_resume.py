"""A run interrupted mid-training resumes and ends with the same record as an
uninterrupted run: losses, balancer weights (ALWA's alpha, DTP's KPI EMAs) and metrics,
exactly. The interruptions come from inside the training (tests/interrupt_hook.py), at an
exact iteration: a SIGKILL that also tears the last line of scalars.jsonl (issue 12's
repro), and SLURM's requeue signal (USR2), which saves the iteration in flight."""
import json
import os
import signal
import subprocess
import sys

import pytest
import torch

from conftest import ROOT

pytestmark = pytest.mark.training

ARGS = ["table='1'", "cell=resume", "profile.iters=12", "profile.checkpoint=4"]
ALWA1 = ["balancer=alwa1", "balancer.interval=3"]
DTP = ["balancer=dtp", "balancer.momentum=0.5"]
# argv: overrides; env INTERRUPT: the InterruptAtHook's arguments as JSON (none: no hook).
JOB = """
import json, os, sys
sys.path.insert(0, "tests")
from hydra import compose, initialize_config_dir
import repro.job.mmdet_config as mc
from repro.job.run_cell import run_cell
from repro.core.paths import CONF_DIR
interrupt = json.loads(os.environ.get("INTERRUPT") or "null")
images = int(os.environ.get("TRAIN_IMAGES") or 0)  # a short epoch: the first N images once
build = mc.build_mmdet_config
def with_hook(cfg, rd):
    mm = build(cfg, rd)
    if interrupt:
        import interrupt_hook  # noqa: F401 - registers InterruptAtHook
        mm.custom_hooks.append(dict(type="InterruptAtHook", record=str(rd / "scalars.jsonl"),
                                    **interrupt))
    if images:
        train = mm.train_dataloader.dataset
        train.times = 1
        train.dataset.datasets[0].indices = images
    return mm
mc.build_mmdet_config = with_hook
with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
    cfg = compose("config", overrides=sys.argv[1:])
print(run_cell(cfg)["state"])
"""


def run_job(sweeps, balancer=ALWA1, interrupt=None, extra=(), args=ARGS, images=0):
    env = {**os.environ, "INTERRUPT": json.dumps(interrupt) if interrupt else "",
           "TRAIN_IMAGES": str(images)}
    return subprocess.run([sys.executable, "-c", JOB, *args, *balancer, *extra,
                           f"sweeps_root={sweeps}"], cwd=ROOT, env=env, timeout=300,
                          capture_output=True, text=True)


def run_dir(sweeps):
    return sweeps / "smoke" / "table1" / "resume" / "seed0"


def curve(sweeps, tag):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(run_dir(sweeps)))
    events.Reload()
    return [(e.step, e.value) for e in events.Scalars(tag)]


def record(sweeps):
    rd = run_dir(sweeps)
    rows = [json.loads(line) for line in (rd / "scalars.jsonl").read_text().splitlines()]
    return rows, json.loads((rd / "metrics.json").read_text())


def status(sweeps):
    return json.loads((run_dir(sweeps) / "status.json").read_text())


@pytest.fixture(scope="module")
def whole(tmp_path_factory):
    """The uninterrupted runs, one per balancer."""
    done = {}

    def get(balancer):
        key = tuple(balancer)
        if key not in done:
            sweeps = tmp_path_factory.mktemp("whole")
            assert run_job(sweeps, balancer).returncode == 0
            done[key] = sweeps
        return done[key]
    return get


@pytest.mark.parametrize("balancer", [ALWA1, DTP], ids=["alwa1", "dtp"])
def test_killed_run_with_a_torn_record_resumes_and_matches_an_uninterrupted_one(
        tmp_path, whole, balancer):
    broken = tmp_path / "broken"
    # SIGKILL after iteration 10 (checkpoint at 8), the last scalars line torn.
    killed = run_job(broken, balancer, interrupt={"at": 10, "tear": True})
    assert killed.returncode == -signal.SIGKILL
    rd = run_dir(broken)
    assert status(broken)["state"] == "running"  # the record tells an interrupted run
    assert (rd / "claim.json").exists()  # held by the dead process
    assert (rd / "scalars.jsonl").read_text().endswith('"loss": 0.')  # the torn line
    assert sorted(p.name for p in (rd / "mmdet").glob("*.pth")) == ["iter_8.pth"]

    relaunch = run_job(broken, balancer)  # resumes in place
    assert relaunch.returncode == 0, relaunch.stderr[-2000:]
    assert relaunch.stdout.split()[-1] == "done"
    assert status(broken)["state"] == "done" and status(broken)["resumed_from"] == 8
    assert not (rd / "claim.json").exists()  # released with the outcome
    assert list((rd / "mmdet").glob("*.pth")) == []  # a finished cell keeps no checkpoint
    rows_whole, metrics_whole = record(whole(balancer))
    rows_broken, metrics_broken = record(broken)
    assert [r["iter"] for r in rows_broken] == list(range(1, 13))
    assert rows_broken == rows_whole  # every loss, LR, KPI and weight, bit for bit
    assert metrics_broken == metrics_whole
    # TensorBoard shows the resumed run as one curve, each iteration once (the resumed
    # attempt's event file purges what the killed one logged after its checkpoint).
    assert len(list(rd.glob("events.out.tfevents.*"))) == 2
    for tag in ("loss/total", "balancer/w_cls", "metric/mAP"):
        assert curve(broken, tag) == curve(whole(balancer), tag), tag
    assert len({r["balancer_w_cls"] for r in rows_whole}) > 1  # the weight did move


def test_requeue_signal_saves_the_iteration_in_flight_and_resumes_there(tmp_path, whole):
    broken = tmp_path / "broken"
    # SLURM's warning (submitit's USR2) after iteration 6: between the checkpoints at 4
    # and 8, the job saves iteration 6 and stops; nothing is lost.
    stopped = run_job(broken, interrupt={"at": 6, "signal": "SIGUSR2"})
    assert stopped.returncode == 75, stopped.stderr[-2000:]  # preemption.PREEMPTED_EXIT
    rd = run_dir(broken)
    assert status(broken)["state"] == "running"
    # One checkpoint kept: the one a resume needs (iteration 4's was deleted).
    assert sorted(p.name for p in (rd / "mmdet").glob("*.pth")) == ["iter_6.pth"]
    assert len((rd / "scalars.jsonl").read_text().splitlines()) == 6
    assert run_job(broken).returncode == 0
    assert status(broken)["resumed_from"] == 6
    assert record(broken) == record(whole(ALWA1))


# The paper's shape: epochs (mmengine's epoch loop, resumable mid-epoch), a checkpoint
# per epoch; 2 epochs of 6 iterations (24 images, 4 per batch), LR step after epoch 1.
EPOCHS = ["table='1'", "cell=resume", "~profile.iters", "profile.checkpoint=1",
          "dataset.epochs=2", "dataset.milestones=[1]"]


def test_an_epoch_run_preempted_mid_epoch_resumes_there_with_the_same_data_order(tmp_path):
    whole, broken = tmp_path / "whole", tmp_path / "broken"
    assert run_job(whole, args=EPOCHS, images=24).returncode == 0
    # USR2 after iteration 9: epoch 2's third batch; its checkpoint, then the resume
    # skips epoch 2's first 3 batches (no image loaded) and trains the other 3.
    stopped = run_job(broken, args=EPOCHS, images=24, interrupt={"at": 9, "signal": "SIGUSR2"})
    assert stopped.returncode == 75, stopped.stderr[-2000:]
    rd = run_dir(broken)
    assert sorted(p.name for p in (rd / "mmdet").glob("*.pth")) == ["iter_9.pth"]
    assert run_job(broken, args=EPOCHS, images=24).returncode == 0
    assert status(broken)["resumed_from"] == 9
    rows_whole, metrics_whole = record(whole)
    assert [r["iter"] for r in rows_whole] == list(range(1, 13))
    assert record(broken) == (rows_whole, metrics_whole)  # losses, LR steps, metrics
    assert "resuming epoch 2 after its first 3 batches" in (rd / "run.log").read_text()


def test_a_torn_checkpoint_falls_back_to_the_one_before(tmp_path, whole):
    broken = tmp_path / "broken"
    assert run_job(broken, interrupt={"at": 10}).returncode == -signal.SIGKILL
    rd = run_dir(broken)
    # A kill during the save of iteration 12's checkpoint leaves a truncated file that
    # last_checkpoint names (mmengine writes the pointer after the file).
    good = (rd / "mmdet" / "iter_8.pth").read_bytes()
    (rd / "mmdet" / "iter_12.pth").write_bytes(good[:len(good) // 3])
    (rd / "mmdet" / "last_checkpoint").write_text(str(rd / "mmdet" / "iter_12.pth"))
    assert run_job(broken).returncode == 0
    assert status(broken)["state"] == "done" and status(broken)["resumed_from"] == 8
    assert record(broken) == record(whole(ALWA1))


def test_checkpoints_load_weights_only_and_a_finished_cell_keeps_only_its_weights(tmp_path):
    assert run_job(tmp_path, interrupt={"at": 10}).returncode == -signal.SIGKILL
    ckpt = torch.load(run_dir(tmp_path) / "mmdet" / "iter_8.pth", weights_only=True)
    state = ckpt["state_dict"]["loss_balancer._extra_state"]
    assert set(state) == {"alpha", "window_cls", "window_reg", "config"}
    assert 0.0 < state["alpha"] <= 1.0 and len(state["window_cls"]) == 8 % 3
    assert ckpt["meta"]["iter"] == 8
    # keep_weights=true: the finished cell keeps its final weights and no checkpoint.
    assert run_job(tmp_path, extra=["keep_weights=true"]).returncode == 0
    rd = run_dir(tmp_path)
    assert list((rd / "mmdet").glob("*.pth")) == []
    weights = torch.load(rd / "weights.pth", weights_only=True)
    assert weights["meta"]["iter"] == 12 and set(weights) == {"state_dict", "meta"}
    assert weights["state_dict"]["loss_balancer._extra_state"]["alpha"] != state["alpha"]
