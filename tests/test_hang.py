"""Hangs end: a rank that stops mid-training makes the others raise after the process
group's timeout (profile.dist_timeout_s), and the cell ends `failed/hang` instead of
holding its allocation to the time limit. Two gloo ranks of one cell, in the environment
a two-task SLURM job gives them (repro/launch/distributed.py reads it)."""
import json
import os
import signal
import subprocess
import sys
import time

import pytest

from conftest import ROOT
from test_resume import JOB

pytestmark = pytest.mark.training


def test_a_stopped_rank_ends_the_cell_as_failed_hang(tmp_path):
    args = ["table='1'", "cell=hang", "profile.iters=12", "profile.gpus=2",
            "profile.dist_timeout_s=4", f"sweeps_root={tmp_path}"]
    stop = json.dumps({"at": 3, "signal": "SIGSTOP", "rank": 1})
    ranks = []
    for rank in range(2):
        env = {**os.environ, "INTERRUPT": stop, "SUBMITIT_EXECUTOR": "slurm",
               "SLURM_PROCID": str(rank), "SLURM_LOCALID": str(rank), "SLURM_NTASKS": "2",
               "SLURM_JOB_ID": str(900000 + os.getpid() % 10000),
               "SLURM_JOB_NODELIST": "localhost", "SLURM_JOB_NUM_NODES": "1"}
        ranks.append(subprocess.Popen([sys.executable, "-c", JOB, *args], cwd=ROOT, env=env,
                                      stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                      text=True))
    t0 = time.monotonic()
    try:
        out, _ = ranks[0].communicate(timeout=240)
        waited = time.monotonic() - t0
    finally:
        for p in ranks:
            if p.poll() is None:
                p.send_signal(signal.SIGKILL)
                p.wait()
    assert ranks[0].returncode == 0, out[-3000:]
    rd = tmp_path / "smoke" / "table1" / "hang" / "seed0"
    status = json.loads((rd / "status.json").read_text())
    assert status["state"] == "failed" and status["reason"] == "hang", status
    assert not (rd / "claim.json").exists()
    assert waited < 200  # the time limit would be profile.slurm.timeout_min (30 min)
