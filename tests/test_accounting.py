"""SLURM's accounting word for a `lost` run (repro/launch/accounting.py), on the real
`sacct` (SLURM 22.05.8).

With a live slurmdbd (tests/slurm_accounting.py: MariaDB and slurmdbd beside the test
cluster; skipped where Debian's slurmdbd and mariadb-server are absent): a scancelled
job's run is shown `lost(CANCELLED)` by `python -m repro.status`. Where accounting is off
(the plain test cluster's accounting_storage/none) or its database is down, the real
sacct says so and the run is shown `lost` without a word. The parser's fixture: lines
sacct printed here (`sacct -n -P -o JobID,State -j 1,2,3,4,5,6` against that slurmdbd,
2026-12-02: jobs `true`, `exit 3`, a scancelled `sleep`, a `sleep` past `--time=1`, a
finished one, a `--array=0-5%1` cancelled before its first task), and, marked, lines
for the ends a one-node CPU cluster cannot produce (OUT_OF_MEMORY, NODE_FAIL, PREEMPTED:
written in the same format, after the man page's JOB STATE CODES)."""
import os
import shutil
import subprocess
import sys
import time

import pytest

from conftest import ROOT
from repro.launch.accounting import final_states, parse, sacct_command
from slurm_accounting import accounted_slurm  # noqa: F401 - module fixture

CAPTURED = """\
1|COMPLETED
1.batch|COMPLETED
2|FAILED
2.batch|FAILED
3|CANCELLED by 0
3.batch|CANCELLED
4|TIMEOUT
4.batch|CANCELLED
5|COMPLETED
5.batch|COMPLETED
6_[0-5%1]|CANCELLED by 0
"""
# The same jobs mid-run (captured too): 4 and 5 running, the array's tasks pending.
CAPTURED_MID = """\
4|RUNNING
4.batch|RUNNING
5|RUNNING
5.batch|RUNNING
6_[0-5%1]|PENDING
"""
WRITTEN = """\
41_1|FAILED
41_1.batch|OUT_OF_MEMORY
41_1.extern|COMPLETED
42|OUT_OF_MEMORY
42.batch|OUT_OF_MEMORY
43|NODE_FAIL
43.batch|CANCELLED
44|PREEMPTED
45|REQUEUED
"""


def test_sacct_lines_give_each_ended_job_its_word():
    assert parse(CAPTURED) == {
        "1": "COMPLETED", "2": "FAILED", "3": "CANCELLED",  # "CANCELLED by 0": the word
        "4": "TIMEOUT",  # its batch step says CANCELLED: the allocation's word
        "5": "COMPLETED", "6_[0-5%1]": "CANCELLED"}  # (no run's id: never looked up)
    assert parse(CAPTURED_MID) == {}  # running or pending: not ended, no word
    assert parse(WRITTEN) == {
        "41_1": "OUT_OF_MEMORY",  # a step's OOM names a job the allocation calls FAILED
        "42": "OUT_OF_MEMORY", "43": "NODE_FAIL", "44": "PREEMPTED"}  # 45 will run again
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


def _running_cell(cluster, tmp_path) -> tuple[str, str]:
    """A `sleep` job on the cluster, and a Table 1 run record `running` under its claim,
    as a SLURM job of a sweep leaves them (its cell, its job id)."""
    from repro.core import records
    from repro.launch import claims

    job = cluster.run("sbatch", "--parsable", "-o", "/dev/null", "--wrap", "sleep 300").strip()
    cell = "w1.00-1.00__voc_sgd_l1"
    rd = tmp_path / "sweeps" / "smoke" / "table1" / cell / "seed0"
    records.write_json(rd / records.STATUS, {"state": "running", "slurm_job_id": job,
                                             "host": cluster.host, "started": None})
    records.write_json(rd / claims.CLAIM, claims.owner("l1", slurm_job_id=job))
    return cell, job


def _scancel(cluster, job):
    cluster.run("scancel", job)
    deadline = time.time() + 60
    while "CANCELLED" not in cluster.run("squeue", "-h", "-t", "all", "-o", "%T", "-j", job):
        assert time.time() < deadline, "scancel did not end the job"
        time.sleep(0.5)


def test_without_accounting_a_cancelled_jobs_run_is_lost_without_a_word(slurm, tmp_path):
    cell, job = _running_cell(slurm, tmp_path)
    sweeps = tmp_path / "sweeps"
    assert _state(sweeps, cell, slurm.env) == "running"  # SLURM runs it: not lost
    _scancel(slurm, job)
    # sacct: "Slurm accounting storage is disabled": lost, from the stale claim, no word
    assert _state(sweeps, cell, slurm.env) == "lost"


def test_with_a_live_slurmdbd_a_cancelled_jobs_run_is_lost_with_its_word(accounted_slurm,
                                                                       tmp_path):
    cluster = accounted_slurm
    done = cluster.run("sbatch", "--parsable", "-o", "/dev/null", "--wrap", "exit 3").strip()
    cell, job = _running_cell(cluster, tmp_path)
    sweeps = tmp_path / "sweeps"
    assert _state(sweeps, cell, cluster.env) == "running"
    _scancel(cluster, job)
    cluster.accounted(job, "CANCELLED")
    cluster.accounted(done, "FAILED")
    assert _state(sweeps, cell, cluster.env) == "lost(CANCELLED)"
    env = {**os.environ, **cluster.env}
    out = subprocess.run(sacct_command([job, done]), capture_output=True, text=True, env=env)
    assert f"{job}|CANCELLED by 0" in out.stdout.splitlines()  # the real line, parsed:
    assert parse(out.stdout) == {job: "CANCELLED", done: "FAILED"}
