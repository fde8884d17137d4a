"""A run killed mid-training resumes from its checkpoint and ends with the same record
as an uninterrupted run: losses, balancer weights (ALWA's alpha, DTP's KPI EMAs) and
metrics, exactly."""
import json
import os
import signal
import subprocess
import sys
import time

import pytest
import torch

from conftest import ROOT

pytestmark = pytest.mark.training

ARGS = ["table='1'", "cell=resume", "profile.iters=12", "profile.checkpoint=4"]
ALWA1 = ["balancer=alwa1", "balancer.interval=3"]
DTP = ["balancer=dtp", "balancer.momentum=0.5"]
JOB = """
import sys
from hydra import compose, initialize_config_dir
from repro.core.paths import CONF_DIR
from repro.job.run_cell import run_cell
with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
    cfg = compose("config", overrides=sys.argv[1:])
print(run_cell(cfg)["state"])
"""


def start_job(sweeps, balancer=ALWA1):
    return subprocess.Popen([sys.executable, "-c", JOB, *ARGS, *balancer, f"sweeps_root={sweeps}"],
                            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)


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


@pytest.mark.parametrize("balancer", [ALWA1, DTP], ids=["alwa1", "dtp"])
def test_killed_run_resumes_and_matches_an_uninterrupted_one(tmp_path, balancer):
    whole, broken = tmp_path / "whole", tmp_path / "broken"
    assert start_job(whole, balancer).wait(timeout=300) == 0

    job = start_job(broken, balancer)
    pointer = run_dir(broken) / "mmdet" / "last_checkpoint"
    deadline = time.time() + 300
    while not pointer.exists() and job.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    os.killpg(job.pid, signal.SIGKILL)  # as a preemption would, mid-training
    job.wait()
    status = json.loads((run_dir(broken) / "status.json").read_text())
    assert status["state"] == "running"  # the record tells an interrupted run
    assert len(record_rows := (run_dir(broken) / "scalars.jsonl").read_text().splitlines()) < 12, \
        record_rows

    assert start_job(broken, balancer).wait(timeout=300) == 0  # the relaunch resumes in place
    assert json.loads((run_dir(broken) / "status.json").read_text())["state"] == "done"
    rows_whole, metrics_whole = record(whole)
    rows_broken, metrics_broken = record(broken)
    assert [r["iter"] for r in rows_broken] == list(range(1, 13))
    assert rows_broken == rows_whole  # every loss, LR, KPI and weight, bit for bit
    assert metrics_broken == metrics_whole
    # TensorBoard shows the resumed run as one curve, each iteration once (the resumed
    # attempt's event file purges what the killed one logged after its checkpoint).
    assert len(list(run_dir(broken).glob("events.out.tfevents.*"))) == 2
    for tag in ("loss/total", "balancer/w_cls", "metric/mAP"):
        assert curve(broken, tag) == curve(whole, tag), tag
    assert len({r["balancer_w_cls"] for r in rows_whole}) > 1  # the weight did move


def test_checkpoints_load_weights_only_with_the_balancer_state(tmp_path):
    assert start_job(tmp_path).wait(timeout=300) == 0
    ckpt = torch.load(run_dir(tmp_path) / "mmdet" / "iter_8.pth", weights_only=True)
    state = ckpt["state_dict"]["loss_balancer._extra_state"]
    assert set(state) == {"alpha", "window_cls", "window_reg", "config"}
    assert 0.0 < state["alpha"] <= 1.0 and len(state["window_cls"]) == 8 % 3
    assert ckpt["meta"]["iter"] == 8
