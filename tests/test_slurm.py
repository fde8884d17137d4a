"""`hydra/launcher=slurm` against a real one-node SLURM (tests/slurm_cluster.py).

Every test launches `python -m repro ... hydra/launcher=slurm` as a user does; the
launch returns once the jobs are queued, and the tests follow the cells through their
run records, as `python -m repro.status` does after the shell is gone.
"""
import json
import os
import re
import subprocess
import sys
import time

import pytest

from conftest import DATA_ROOT, ROOT, run_repro

pytestmark = pytest.mark.training

ENDED = ("done", "failed")


def launch(slurm, tmp_path, *args, table="1"):
    return run_repro(f"table={table}", "-m", "hydra/launcher=slurm", *args, tmp_path=tmp_path,
                     env=slurm.env, timeout=300)


def run_dir(tmp_path, cell, table="table1"):
    return tmp_path / "sweeps" / "smoke" / table / cell / "seed0"


def status(rd):
    path = rd / "status.json"
    return json.loads(path.read_text()) if path.exists() else {}


def wait_ended(*rds, timeout=300):
    """Until every run folder's record says done or failed and its job let go of it."""
    deadline = time.time() + timeout
    while not all(status(rd).get("state") in ENDED and not (rd / "claim.json").exists()
                  for rd in rds):
        if time.time() > deadline:
            raise TimeoutError({str(rd): status(rd).get("state") for rd in rds})
        time.sleep(0.5)
    return [status(rd) for rd in rds]


def status_lines(tmp_path, table="1"):
    # the sweeps here run one seed per cell (noise_seeds=1, tests/conftest.py); so does status
    out = subprocess.run([sys.executable, "-m", "repro.status", f"table={table}",
                          f"sweeps_root={tmp_path / 'sweeps'}", "noise_seeds=1"], cwd=ROOT,
                         capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return out.stdout


def submitted(result):
    """(cells, first job id) of each submission the launch logged."""
    return [(int(n), j) for n, j in re.findall(
        r"submitted (\d+) cell\(s\) as SLURM job(?: array)? (\d+)", said(result))]


def said(result):
    return result.stdout + result.stderr


def test_a_table_goes_out_as_one_array_and_a_relaunch_submits_nothing(slurm, tmp_path):
    cells = ["w1.00-1.00__voc_sgd_l1", "w0.10-0.50__voc_sgd_l1", "w0.25-0.25__voc_sgd_l1"]
    args = (f"cells=[{','.join(cells)}]", "profile.iters=12",
            "hydra.launcher.array_parallelism=2")
    r = launch(slurm, tmp_path, *args)
    assert r.returncode == 0, r.stderr[-3000:]
    [(count, array)] = submitted(r)  # one sbatch for the three cells
    assert count == 3
    script = next((tmp_path / "sweeps/smoke/table1/.submitit").glob("*/*_submission.sh"))
    assert "#SBATCH --array=0-2%2" in script.read_text()  # at most 2 at a time

    records = wait_ended(*(run_dir(tmp_path, c) for c in cells))
    assert [s["state"] for s in records] == ["done"] * 3
    assert {s["slurm_job_id"] for s in records} == {f"{array}_{i}" for i in range(3)}

    # The launching process is long gone: the records alone say where each cell ran.
    rows = {line.split()[0]: line for line in status_lines(tmp_path).splitlines() if line}
    for cell, s in zip(cells, records):
        assert f"done              vm pid {s['pid']} slurm {s['slurm_job_id']}" in rows[cell]

    jobs_before = {j["id"] for j in slurm.jobs()}
    again = launch(slurm, tmp_path, *args)
    assert again.returncode == 0, again.stderr[-2000:]
    assert "3 jobs, 3 done, 0 to run" in said(again)
    assert submitted(again) == [] and {j["id"] for j in slurm.jobs()} == jobs_before


def test_two_launches_at_once_train_each_cell_once(slurm, tmp_path):
    cells = ["w0.25-0.50__voc_sgd_l1", "w0.25-0.75__voc_sgd_l1"]
    cmd = [sys.executable, "-m", "repro", "table=1", "-m", "hydra/launcher=slurm",
           f"cells=[{','.join(cells)}]", "profile.iters=12",
           f"sweeps_root={tmp_path / 'sweeps'}", f"results_root={tmp_path / 'results'}"]
    env = {**os.environ, "REPRO_DATA_ROOT": str(DATA_ROOT), **slurm.env}
    procs = [subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True) for _ in range(2)]
    logs = [p.communicate(timeout=300)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], logs
    counts = [n for log in logs for n, _ in
              re.findall(r"submitted (\d+) cell\(s\) as SLURM job(?: array)? (\d+)", log)]
    assert sum(int(n) for n in counts) == 2  # each cell went out once, from one launch
    records = wait_ended(*(run_dir(tmp_path, c) for c in cells))
    assert [s["state"] for s in records] == ["done", "done"]
    for cell in cells:  # one training each: one mmengine work folder, one record
        rd = run_dir(tmp_path, cell)
        assert len([d for d in (rd / "mmdet").iterdir() if d.is_dir()]) == 1
        assert len((rd / "scalars.jsonl").read_text().splitlines()) == 12


def test_one_cell_as_a_two_task_gloo_job_trains_on_both_ranks(slurm, tmp_path):
    cell = "w1.00-1.00__voc_sgd_smoothl1"
    r = launch(slurm, tmp_path, f"cells=[{cell}]", "profile.iters=12", "profile.gpus=2")
    assert r.returncode == 0, r.stderr[-3000:]
    [(count, job)] = submitted(r)
    assert count == 1
    assert "(2 task(s), 0 GPU(s) each" in said(r)
    rd = run_dir(tmp_path, cell)
    [s] = wait_ended(rd)
    assert s["state"] == "done", s
    ranks = s["ranks"]
    assert [x["rank"] for x in ranks] == [0, 1]
    assert len({x["pid"] for x in ranks}) == 2  # two processes ...
    assert [x["iters"] for x in ranks] == [12, 12]  # ... both trained every iteration
    assert [x["shard"] for x in ranks] == [[0, 2], [1, 2]]  # each on its half of the data
    rows = [[json.loads(l) for l in (rd / f).read_text().splitlines()]
            for f in ("scalars.jsonl", "scalars.rank1.jsonl")]
    assert [len(r) for r in rows] == [12, 12]
    assert rows[0][0]["loss"] != rows[1][0]["loss"]  # different images, different losses
    assert [a["lr"] for a in rows[0]] == [b["lr"] for b in rows[1]]
    mm = (rd / "mmdet_config.py").read_text()  # gloo, and a port of its own
    assert "launcher='slurm'" in mm and "backend='gloo'" in mm
    assert f"port={20000 + int(job) % 40000}" in mm


def test_a_preempted_job_requeues_resumes_and_matches_an_uninterrupted_run(slurm, tmp_path):
    """ALWA's alpha moves every 3 iterations, so the balancer state must survive too."""
    args = ("cells=[alwa1__faster]", "++balancer.interval=3", "profile.iters=60",
            "profile.checkpoint=5")
    whole, broken = tmp_path / "whole", tmp_path / "broken"
    for where in (whole, broken):
        where.mkdir()
        r = launch(slurm, where, *args, table="4")
        assert r.returncode == 0, r.stderr[-3000:]
    rd = run_dir(broken, "alwa1__faster", table="table4")
    job = json.loads((rd / "claim.json").read_text())["slurm_job_id"]
    deadline = time.time() + 240
    while not (rd / "mmdet" / "last_checkpoint").exists():  # mid-training, a checkpoint made
        assert time.time() < deadline and status(rd).get("state") not in ENDED
        time.sleep(0.05)
    time.sleep(1.0)  # on, past that checkpoint
    # What a preemption looks like to the job (submitit's own test helper does the same).
    slurm.run("scancel", "--signal=TERM", job)
    slurm.run("scancel", "--signal=USR2", job)

    s_whole, = wait_ended(run_dir(whole, "alwa1__faster", table="table4"))
    s_broken, = wait_ended(rd)
    assert s_broken["state"] == s_whole["state"] == "done"
    assert s_broken["slurm_job_id"] == job  # the same job, requeued
    assert 5 <= s_broken["resumed_from"] < 60
    assert s_whole["resumed_from"] is None
    log = "".join(p.read_text() for p in (broken / "sweeps/smoke/table4/.submitit").rglob("*.out"))
    assert f"Requeued job {job}" in log
    # The signal saved the iteration in flight (repro/job/preemption.py), and the requeued
    # job resumed there: no iteration trained twice, none lost.
    assert f"saved iteration {s_broken['resumed_from']}, stopping for the requeue" in log
    assert f"resumes from iteration {s_broken['resumed_from']}" in log

    def record(where):
        d = run_dir(where, "alwa1__faster", table="table4")
        rows = [json.loads(l) for l in (d / "scalars.jsonl").read_text().splitlines()]
        return rows, json.loads((d / "metrics.json").read_text())

    rows_whole, metrics_whole = record(whole)
    rows_broken, metrics_broken = record(broken)
    assert [r["iter"] for r in rows_broken] == list(range(1, 61))
    assert rows_broken == rows_whole  # every loss, LR and ALWA weight, bit for bit
    assert metrics_broken == metrics_whole
    assert len({r["balancer_w_cls"] for r in rows_whole}) > 1  # alpha did move


def test_a_failed_record_beats_slurms_completed_and_is_kept_unless_asked(slurm, tmp_path):
    cell = "w1.00-1.00__voc_sgd_ciou"
    args = (f"cells=[{cell}]", "profile.iters=12", "profile.backbone.depth=7")  # no ResNet-7
    r = launch(slurm, tmp_path, *args)
    assert r.returncode == 0, r.stderr[-3000:]
    [s] = wait_ended(run_dir(tmp_path, cell))
    assert (s["state"], s["reason"]) == ("failed", "error")
    job = s["slurm_job_id"]
    deadline = time.time() + 60
    while slurm.job_state(job) in ("RUNNING", "COMPLETING") and time.time() < deadline:
        time.sleep(0.5)
    assert slurm.job_state(job) == "COMPLETED"  # Hydra caught the error: SLURM saw success
    assert re.search(rf"{cell}\s+0\s+failed\(error\)\s+vm pid \d+ slurm {job}\b",
                     status_lines(tmp_path))

    again = launch(slurm, tmp_path, *args)
    assert "skipped: 1 failed" in said(again) and "retry_failed=true reruns them" in said(again)
    assert submitted(again) == []
    retry = launch(slurm, tmp_path, *args, "retry_failed=true")
    assert [n for n, _ in submitted(retry)] == [1]
    [s2] = wait_ended(run_dir(tmp_path, cell))
    assert s2["state"] == "failed" and s2["slurm_job_id"] != job


@pytest.mark.parametrize("override", ["hydra.launcher.partition=nope",
                                      "profile.slurm.partition=nope"])
def test_an_unknown_partition_is_refused_before_anything_is_written(slurm, tmp_path, override):
    r = launch(slurm, tmp_path, "cells=[w1.00-1.00__voc_sgd_l1]", override)
    assert r.returncode == 2, r.stderr[-2000:]
    assert "Traceback" not in r.stderr
    [line] = [l for l in r.stderr.splitlines() if l.startswith("repro: ")]
    assert "SLURM refuses" in line and "invalid partition" in line.lower()
    assert "hydra.launcher.partition" in line
    assert not (tmp_path / "sweeps").exists() and not (tmp_path / "results").exists()


def test_a_120_cell_table_is_one_array(slurm, tmp_path):
    """One sbatch for the whole table. Its time (issue 6: at most 10 s) is a benchmark,
    scripts/benchmark_slurm_submit.py, not an assertion here: a timed assertion fails on
    a slow machine (14.1 s in CI's run of 2026-12-03) and proves nothing on a fast one."""
    r = launch(slurm, tmp_path, "report=false", "+hydra.launcher.additional_parameters.hold=true")
    assert r.returncode == 0, r.stderr[-3000:]
    try:
        [(count, array)] = submitted(r)
        assert count == 120
        tasks = slurm.run("squeue", "-h", "-r", "-j", array, "-o", "%i").split()
        assert sorted(tasks, key=lambda t: int(t.split("_")[1])) == \
            [f"{array}_{i}" for i in range(120)]
    finally:
        slurm.run("scancel", *{j for _, j in submitted(r)}, check=False)
