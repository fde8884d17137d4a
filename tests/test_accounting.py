"""SLURM's accounting word for a `lost` run (repro/launch/accounting.py).

No slurmdbd runs here, so how sacct reports ended jobs is tested on fixture text in the
format `sacct -n -P -o JobID,State -j <ids>` prints (SLURM 22.05, man sacct: no header,
one line per allocation and per step, fields split by `|` with no trailing one, steps as
<job>.batch / <job>.extern / <job>.<n>, array tasks as <array>_<task>, tasks not started
yet as <array>_[a-b]). Written after the man page, not captured from a live slurmdbd. What
sacct says where accounting is off (the test cluster's accounting_storage/none) or its
database is down is the real sacct, run here; and `python -m repro.status` on the real
one-node SLURM shows a cancelled job's run `lost`, with no word from the disabled
accounting, and with the word once an sacct that answers (the fixture text) is on PATH."""
import os
import shutil
import subprocess
import sys
import time

import pytest

from conftest import ROOT
from repro.launch.accounting import final_states, parse, sacct_command

ENDED = """\
41_0|COMPLETED
41_0.batch|COMPLETED
41_0.extern|COMPLETED
41_1|CANCELLED by 0
41_1.batch|CANCELLED
41_1.extern|COMPLETED
41_[2-5]|PENDING
42|FAILED
42.batch|OUT_OF_MEMORY
42.extern|COMPLETED
43|OUT_OF_MEMORY
43.batch|OUT_OF_MEMORY
44|NODE_FAIL
44.batch|CANCELLED
45|TIMEOUT
45.batch|CANCELLED
45.extern|COMPLETED
46|RUNNING
46.batch|RUNNING
47|REQUEUED
48|PREEMPTED
"""


def test_sacct_lines_give_each_ended_job_its_word():
    assert parse(ENDED) == {
        "41_0": "COMPLETED", "41_1": "CANCELLED",  # "CANCELLED by 0": the word only
        "42": "OUT_OF_MEMORY",  # the batch step's OOM names a job the allocation calls FAILED
        "43": "OUT_OF_MEMORY", "44": "NODE_FAIL", "45": "TIMEOUT", "48": "PREEMPTED"}
    # not ended (46 runs, 47 waits to run again, 41_[2-5] never started): no word
    assert parse("") == {} and parse("\n \n") == {}


def test_sacct_is_asked_once_for_every_id_with_the_steps():
    assert sacct_command(["42", "41_1", "42"]) == [
        "sacct", "-n", "-P", "-o", "JobID,State", "-j", "41_1,42"]


SLURM_CONF = """\
ClusterName=reprotest
SlurmctldHost=localhost(127.0.0.1)
{accounting}
NodeName=localhost CPUs=1 State=UNKNOWN
PartitionName=p Nodes=localhost Default=YES
"""


@pytest.mark.skipif(shutil.which("sacct") is None, reason="sacct absent (slurm-client)")
@pytest.mark.parametrize("accounting, says", [
    ("AccountingStorageType=accounting_storage/none", "Slurm accounting storage is disabled"),
    ("AccountingStorageType=accounting_storage/slurmdbd\nAccountingStorageHost=127.0.0.1\n"
     "AccountingStoragePort=1", "Problem talking to the database"),
])
def test_where_accounting_cannot_answer_there_is_no_word(tmp_path, monkeypatch, accounting,
                                                          says):
    conf = tmp_path / "slurm.conf"
    conf.write_text(SLURM_CONF.format(accounting=accounting))
    monkeypatch.setenv("SLURM_CONF", str(conf))
    real = subprocess.run(sacct_command(["42"]), capture_output=True, text=True, timeout=60)
    assert real.returncode == 1 and says in real.stderr and real.stdout == ""
    assert final_states(["42", "41_1"]) == {}


def _state(sweeps, cell, env):
    """The state `python -m repro.status` shows for the cell's seed 0."""
    out = subprocess.run([sys.executable, "-m", "repro.status", "table=1",
                          f"sweeps_root={sweeps}"], cwd=ROOT, capture_output=True,
                         text=True, timeout=120, env={**os.environ, **env})
    assert out.returncode == 0, out.stderr
    [line] = [l for l in out.stdout.splitlines() if l.split()[:2] == [cell, "0"]]
    return line.split()[2]


def test_status_shows_a_cancelled_job_lost_with_accountings_word_where_it_has_one(
        slurm, tmp_path):
    from repro.core import records
    from repro.launch import claims

    job = slurm.run("sbatch", "--parsable", "-o", "/dev/null", "--wrap", "sleep 300").strip()
    cell = "w1.00-1.00__voc_sgd_l1"
    rd = tmp_path / "sweeps" / "smoke" / "table1" / cell / "seed0"
    records.write_json(rd / records.STATUS, {"state": "running", "slurm_job_id": job,
                                             "host": slurm.host, "started": None})
    records.write_json(rd / claims.CLAIM, claims.owner("l1", slurm_job_id=job))
    sweeps = tmp_path / "sweeps"
    assert _state(sweeps, cell, slurm.env) == "running"  # SLURM runs it: not lost
    slurm.run("scancel", job)
    deadline = time.time() + 60
    while "CANCELLED" not in slurm.run("squeue", "-h", "-t", "all", "-o", "%T", "-j", job):
        assert time.time() < deadline, "scancel did not end the job"
        time.sleep(0.5)
    # The test cluster keeps no accounting (sacct: "Slurm accounting storage is disabled"):
    # lost, from the stale claim, without a word.
    assert _state(sweeps, cell, slurm.env) == "lost"
    # An sacct that answers, as one backed by slurmdbd would (the fixture's shape).
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "sacct").write_text(f"#!/bin/sh\nprintf '{job}|FAILED\\n{job}.batch|"
                                   f"OUT_OF_MEMORY\\n{job}.extern|COMPLETED\\n'\n")
    (bin_dir / "sacct").chmod(0o755)
    env = {**slurm.env, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    assert _state(sweeps, cell, env) == "lost(OUT_OF_MEMORY)"
