"""The SLURM path's pure parts, without a cluster: which cells a relaunch takes, claims
on run folders, a job's task shape and rendezvous port, the fast pre-launch composition."""
import subprocess
import sys

import pytest
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from repro.core import records
from repro.core.paths import CONF_DIR
from repro.launch import claims, distributed
from repro.launch.launcher import Resources
from repro.sweep.compose import Composer, is_group_override
from repro.sweep.expand import expand, pending
from repro.table.spec import load_table


@pytest.fixture
def jobs(tmp_path):
    spec = load_table("1")
    js = expand(spec, profile="smoke", sweeps_root=tmp_path, seeds=1,
                cells=["w1.00-1.00__voc_*"])
    for job, state in zip(js, ("done", "failed", "running")):  # the 4th has no record
        records.write_json(job.run_dir / records.STATUS, {"state": state})
    return js


def test_a_relaunch_takes_new_and_interrupted_cells_only(jobs):
    assert pending(jobs) == jobs[2:]
    assert pending(jobs, retry_failed=True) == jobs[1:]
    assert pending(jobs, force=True) == jobs


def _dead_pid() -> int:
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


def test_claims_keep_a_live_holder_and_hand_over_a_dead_one(tmp_path):
    rd = tmp_path / "cell" / "seed0"
    live = claims.Liveness()
    a, b = claims.owner("launchA"), claims.owner("launchB")
    assert claims.acquire(rd, a, live) == (True, None)
    ok, holder = claims.acquire(rd, b, live)  # A's process (this one) is alive
    assert not ok and holder["launch_id"] == "launchA"
    claims.release(rd, "launchB")  # not B's to release
    assert claims.read(rd)["launch_id"] == "launchA"

    records.write_json(rd / claims.CLAIM, {**a, "pid": _dead_pid()})  # A died
    assert claims.acquire(rd, b, live) == (True, None)
    assert claims.read(rd)["launch_id"] == "launchB"
    claims.release(rd, "launchB")
    assert claims.read(rd) is None


def test_a_requeued_job_finds_its_own_claim(tmp_path):
    rd = tmp_path / "cell" / "seed0"
    launcher = claims.owner("L")
    assert claims.acquire(rd, launcher, claims.Liveness())[0]
    claims.note_job(rd, "L", "41_3")
    assert claims.read(rd)["slurm_job_id"] == "41_3"
    # The job (first start, or requeued: another process, same launch id and job id).
    job = {**claims.owner("L", slurm_job_id="41_3"), "pid": 999999}
    assert claims.acquire(rd, job, lambda c: True) == (True, None)
    # Another launch meanwhile sees SLURM's word on 41_3: pending -> live.
    assert claims.acquire(rd, claims.owner("M"), lambda c: True)[0] is False
    assert claims.acquire(rd, claims.owner("M"), lambda c: None)[0] is False  # unknown: kept
    assert claims.acquire(rd, claims.owner("M"), lambda c: False)[0] is True  # gone: taken


def test_a_claim_is_not_taken_for_a_cell_that_got_done(tmp_path):
    rd = tmp_path / "cell" / "seed0"
    assert claims.acquire(rd, claims.owner("L"), claims.Liveness(),
                          may_run=lambda: False) == (False, None)
    assert claims.read(rd) is None


def test_slurm_holders_are_asked_once_and_unknown_without_squeue(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # no squeue here
    live = claims.Liveness()
    live.prefetch([{"slurm_job_id": "5_1"}, None, {"slurm_job_id": "6"}])
    assert live({"slurm_job_id": "5_1"}) is None and live({"slurm_job_id": "6"}) is None
    assert live({"host": "elsewhere", "pid": 1}) is None


def test_tasks_ports_and_job_shapes(monkeypatch):
    assert distributed.rendezvous_port("123") == 20123
    assert distributed.rendezvous_port("40123") == 20123  # 40000 jobs apart
    assert len({distributed.rendezvous_port(str(j)) for j in range(1000, 41000)}) == 40000
    for key in ("SUBMITIT_EXECUTOR", "SLURM_PROCID"):
        monkeypatch.delenv(key, raising=False)
    assert distributed.slurm_task() is None  # not a SLURM job: one process
    monkeypatch.setenv("SUBMITIT_EXECUTOR", "slurm")
    for key, value in dict(SLURM_PROCID="1", SLURM_NTASKS="2", SLURM_LOCALID="1",
                           SLURM_JOB_ID="77", SLURM_JOB_NODELIST="node[3-4]").items():
        monkeypatch.setenv(key, value)
    task = distributed.slurm_task()
    assert (task.rank, task.world, task.local_rank, task.port, task.master_addr) == \
        (1, 2, 1, 20077, "node3")
    monkeypatch.setenv("SLURM_NTASKS", "1")
    assert distributed.slurm_task() is None

    smoke = OmegaConf.create({"profile": {"gpus": 0, "device": "cpu"}})
    assert Resources.of(smoke) == Resources(tasks=1, gpus=0)
    smoke.profile.gpus = 2  # the gloo test: two CPU processes
    assert Resources.of(smoke) == Resources(tasks=2, gpus=0)
    paper = OmegaConf.create({"profile": {"gpus": 4, "device": "cuda"}})
    assert Resources.of(paper) == Resources(tasks=4, gpus=4)


def test_the_cached_composition_equals_hydras_own(tmp_path):
    spec = load_table("1")
    js = expand(spec, profile="smoke", sweeps_root=tmp_path, seeds=1,
                cells=["w0.10-0.50__*", "w2.00-2.00__coco_adamw_l1"],
                user_overrides=["profile.iters=12", "+extra=3"])
    assert is_group_override("hydra/launcher=slurm") and is_group_override("dataset=voc")
    assert not is_group_override("balancer.cls_weight=0.1")
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        full = lambda o: compose("config", overrides=o)  # noqa: E731
        calls = []
        cached = Composer(lambda o: calls.append(o) or full(o), cache=tmp_path / "cache")
        for job in js:
            a = OmegaConf.to_container(cached(job.overrides))
            assert a == OmegaConf.to_container(full(job.overrides)), job.cell.id
    assert len(calls) == 6  # one composition per column (its group choices), not per cell


def test_the_slurm_launcher_without_slurm_says_so_and_writes_nothing(repro, tmp_path):
    r = repro("table=1", "-m", "hydra/launcher=slurm", "cells=[w1.00-1.00__voc_sgd_l1]",
              env={"PATH": str(tmp_path / "nothing")})  # no sbatch on this machine
    assert r.returncode == 2, r.stderr[-2000:]
    assert "Traceback" not in r.stderr
    assert "repro: hydra/launcher=slurm needs SLURM's sbatch" in r.stderr
    assert not (tmp_path / "sweeps").exists() and not (tmp_path / "results").exists()


def test_paper_cells_ask_for_one_task_per_gpu_tables_1_and_6(tmp_path):
    """Tables 1-5: 4 GPUs x 2 images; Table 6 (its fixed_by_profile): 2 GPUs x 4."""
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        for table, shape in (("1", Resources(4, 4)), ("6", Resources(2, 2))):
            js = expand(load_table(table), profile="paper", sweeps_root="/nowhere", seeds=1)
            cached = Composer(lambda o: compose("config", overrides=["profile=paper", *o]),
                              ["profile=paper"], cache=tmp_path / "cache")
            assert {Resources.of(cached(j.overrides)) for j in js} == {shape}, table


@pytest.mark.skipif(not __import__("shutil").which("srun"), reason="submitit's SLURM "
                    "executor needs srun on PATH (bash scripts/install_slurm.sh)")
def test_a_paper_job_script_asks_for_its_gpus_tasks_and_signal():
    from submitit.slurm.slurm import _make_sbatch_string

    from hydra_plugins.repro_slurm_launcher.slurm_launcher import SlurmArrayLauncher

    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = compose("config", overrides=["profile=paper", "hydra/launcher=slurm",
                                           "table='6'", "profile.slurm.partition=gpu"],
                      return_hydra_config=True)
    params = OmegaConf.to_container(cfg.hydra.launcher, resolve=True)
    params.pop("_target_")
    executor = SlurmArrayLauncher(**params)._executor(Resources(tasks=2, gpus=2))
    script = _make_sbatch_string(command="true", folder=executor.folder, map_count=3,
                                 **executor._executor.parameters)
    for line in ("--gpus-per-node=2", "--ntasks-per-node=2", "--cpus-per-task=8",
                 "--mem=64GB", "--time=1440", "--partition=gpu", "--signal=USR2@300",
                 "--array=0-2%3", "--job-name=repro-table6"):
        assert f"#SBATCH {line}\n" in script, line
    assert "/sweeps/paper/table6/.submitit/" in str(executor.folder)
