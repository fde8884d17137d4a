"""Every failure inside a job is a record: the preparation (claim, resume point, record
truncation, provenance) as much as the training, with its claim released."""
import errno
import json
import socket
import subprocess

import pytest
import torch
from hydra import compose, initialize_config_dir

from repro.core import records
from repro.core import outcomes
from repro.core.outcomes import failure_class
from repro.job.run_cell import cell_run_dir, run_cell
from repro.launch import claims
from repro.core.paths import CONF_DIR


def cell_cfg(sweeps, *extra):
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        return compose("config", overrides=["table='1'", "cell=prep", f"sweeps_root={sweeps}",
                                            "launch_id=L1", *extra])


def interrupted_at(rd, iteration):
    """A run folder as a killed run leaves it: record `running`, a checkpoint, a claim."""
    records.write_json(rd / records.STATUS, {"state": "running"})
    (rd / "mmdet").mkdir(parents=True)
    torch.save({"meta": {"iter": iteration}}, rd / "mmdet" / f"iter_{iteration}.pth")
    (rd / "mmdet" / "last_checkpoint").write_text(str(rd / "mmdet" / f"iter_{iteration}.pth"))
    dead = subprocess.Popen(["true"])
    dead.wait()  # a process of this host that has ended: its claim is stale
    records.write_json(rd / claims.CLAIM, {"launch_id": "dead", "host": socket.gethostname(),
                                           "pid": dead.pid, "pid_start": "0"})


def test_a_damaged_record_found_while_preparing_ends_failed_and_releases_the_claim(tmp_path):
    cfg = cell_cfg(tmp_path)
    rd = cell_run_dir(cfg)
    interrupted_at(rd, 4)
    # Damaged in the middle (not a kill's torn tail): the resume cannot truncate it.
    (rd / "scalars.jsonl").write_text('{"iter": 1}\n{"it\n{"iter": 3}\n')
    out = run_cell(cfg)
    assert out["state"] == "failed" and out["reason"] == "error"
    status = records.read_status(rd)
    assert status["state"] == "failed" and "scalars.jsonl: line 2 is not JSON" in status["message"]
    assert "truncate_record" in (rd / "error.log").read_text()
    assert not (rd / claims.CLAIM).exists()


def test_a_held_claim_is_not_released_by_a_job_that_skips(tmp_path):
    cfg = cell_cfg(tmp_path)
    rd = cell_run_dir(cfg)
    rd.mkdir(parents=True)
    holder = {**claims.owner("other"), "slurm_job_id": None}  # this live process, another launch
    records.write_json(rd / claims.CLAIM, holder)
    assert run_cell(cfg)["state"] == "skipped"
    assert json.loads((rd / claims.CLAIM).read_text())["launch_id"] == "other"


def test_reason_classes():
    from submitit.core.utils import UncompletedJobError

    assert failure_class(OSError(errno.ENOSPC, "No space left on device")) == "disk"
    assert failure_class(OSError(errno.EDQUOT, "Disk quota exceeded")) == "disk"
    assert failure_class(UncompletedJobError("timed-out too many times")) == "timeout"
    assert failure_class(RuntimeError("CUDA out of memory. Tried to allocate")) == "oom"
    assert failure_class(RuntimeError(
        "[gloo/transport/tcp/unbound_buffer.cc:81] Timed out waiting 2000ms for recv")) == "hang"
    assert failure_class(RuntimeError("timed out reading the annotation file")) == "error"
    assert set(outcomes.FAILURE_CLASSES) >= {"timeout", "oom", "hang", "disk"}
