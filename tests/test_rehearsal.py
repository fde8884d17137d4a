"""The rehearsal stage (`make rehearse`, not part of `make test`): paper-scale cells
trained for real on the CPU (issue 13). Real-layout VOC and COCO fixtures at real image
sizes and torchvision-format checkpoints (repro/data/), `rehearse=true` with
profile=paper: every detector entry, balancer, classification and regression loss and
both dataset families (tests/rehearsal_cover.py), and one cell as a 2-task gloo job
through the real one-node SLURM. A paper-scale CPU iteration is 10 s to minutes (DCN), so
the stage runs each cell for what it needs (STAGE below) and is its own stage of .ci/run
(docs/benchmarks.md "Rehearsal": its measured time). REPRO_REHEARSAL_CPU_LOG=<file>
appends each test's wall and CPU seconds (user + sys, every process of the launch) there."""
from __future__ import annotations

import json
import math
import os
import resource
import time

import pytest
from mmengine.config import Config

from conftest import run_repro
from rehearsal_cover import choices_of, cover, iterations
from repro.mmdet.checkpoint_files import write_checkpoints
from repro.data.paper_layout import write_paper_layout

pytestmark = pytest.mark.rehearse

# Deviation flag rehearsal.images_per_gpu=1 (conf/rehearse/true.yaml) halves the stage's
# time; the paper's 2 images per GPU, so that the batching of two images of different
# sizes is rehearsed too, are kept by one cell per dataset family: COCO's in this table,
# VOC's in the SLURM cell (Table 1's, 2 tasks x 2 images).
PAPER_BATCH_TABLES = ("hcral-6",)
CHOSEN, UNUSED = cover(images=lambda t: 2 if t in PAPER_BATCH_TABLES else 1)
# The direct job of the entries no table uses (fcos_atss_r50, uncertainty weighting).
DIRECT = {"detector": "fcos_atss_r50", "balancer": "uncertainty"}
# What the stage runs of each cell, beyond rehearse=true's own cuts (all of them flags of
# the rehearse group, conf/rehearse/true.yaml; none of them the image scale or a width):
STAGE = (
    # 1 test image instead of the group's 2: the real metric still runs on a prediction.
    "profile.rehearsal.test_images=1",
    "profile.checkpoint=null",
    # One torch thread per cell, two cells at a time (the local launcher's 2 workers), a
    # SLURM task per core. Also for a launch of one cell: mmcv's CPU deformable
    # convolution (the FCOS+ATSS heads, Table 7's backbones) runs on one thread anyway,
    # and a second one spins on a busy machine (its CPU seconds then say nothing).
    "profile.threads=1",
)


def cpu_seconds() -> float:
    """User + sys seconds of this process and its ended children (their own ended
    children included): contention barely changes it, unlike wall time."""
    return sum(getattr(resource.getrusage(who), f) for who in
               (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN) for f in ("ru_utime", "ru_stime"))


@pytest.fixture(autouse=True)
def cpu_log(request):
    """Each test's wall and CPU seconds, and its cells' (status.json: seconds, cpu_s),
    appended to REPRO_REHEARSAL_CPU_LOG when set (docs/benchmarks.md's figures)."""
    cells: dict = {}
    t0, c0 = time.perf_counter(), cpu_seconds()
    yield cells
    path = os.environ.get("REPRO_REHEARSAL_CPU_LOG")
    if path:
        with open(path, "a") as f:
            f.write(json.dumps({"test": request.node.name,
                                "wall_s": round(time.perf_counter() - t0, 1),
                                "cpu_s": round(cpu_seconds() - c0, 1), "cells": cells}) + "\n")


@pytest.fixture(scope="module")
def paper_files(tmp_path_factory):
    root = tmp_path_factory.mktemp("paper_files")
    write_paper_layout(root / "data")
    weights = write_checkpoints(root / "checkpoints")
    return root / "data", [f"profile.pretrained.{k}={v}" for k, v in weights.items()]


def rehearse(paper_files, tmp_path, *args, **kw):
    data, weights = paper_files
    return run_repro(*args, "profile=paper", "rehearse=true", *STAGE, *weights,
                     tmp_path=tmp_path, timeout=3600,
                     env={"REPRO_DATA_ROOT": str(data), **kw.pop("env", {})}, **kw)


def check_run(rd, *, iters, log=None):
    status = json.loads((rd / "status.json").read_text())
    assert status["state"] == "done", (rd, status, (rd / "error.log").read_text()[-3000:]
                                       if (rd / "error.log").exists() else "")
    assert 0 < status["cpu_s"], status  # the job's own CPU seconds (repro/job/run_cell.py)
    if log is not None:
        log[rd.parent.name] = {"seconds": status["seconds"], "cpu_s": status["cpu_s"]}
    metrics = json.loads((rd / "metrics.json").read_text())
    assert metrics["iterations"] == iters
    assert isinstance(metrics.get("value"), float) or metrics.get("source"), metrics
    rows = [json.loads(x) for x in (rd / "scalars.jsonl").read_text().splitlines()]
    assert [r["iter"] for r in rows] == list(range(1, iters + 1))
    assert all(math.isfinite(r["loss"]) for r in rows)
    cfg = json.loads(json.dumps(__import__("yaml").safe_load((rd / "config.yaml").read_text())))
    scale = json.loads((rd / "scale.json").read_text())
    mm = Config.fromfile(str(rd / "mmdet_config.py"))
    # The paper's LR for the paper's batch, scaled linearly to this one, times the
    # warm-up's first factor: what mmengine's auto_scale_lr gave the first iteration.
    start = mm.param_scheduler[0]["start_factor"]
    batch = scale["processes"] * scale["images_per_gpu"]
    assert rows[0]["lr"] == pytest.approx(
        cfg["optimizer"]["lr"] * batch / scale["lr_base_batch"] * start, rel=1e-6)
    # the full-width backbone, loaded from the checkpoint file through mmdet's Pretrained
    assert mm.model.backbone.init_cfg["checkpoint"].endswith(".pth")
    [log] = (rd / "mmdet").glob("*/*.log")  # mmengine's own log (run.log is local only)
    assert "Loads checkpoint by local backend from path" in log.read_text()
    if cfg["balancer"]["name"] != "static":
        assert all(math.isfinite(r["balancer_w_cls"]) for r in rows)
    return status


@pytest.mark.parametrize("table", sorted(CHOSEN))
def test_every_entry_rehearses_at_the_papers_scale(table, paper_files, tmp_path, cpu_log):
    cells = CHOSEN[table]
    extra = () if table in PAPER_BATCH_TABLES else ("profile.rehearsal.images_per_gpu=1",)
    iters = max(iterations(choices_of(table, c)) for c in cells)
    # ++: the rehearse group adds profile.iters, which profile=paper alone lacks (the
    # command line's pre-check reads the profile entry, commands/run.py::check_group_key)
    extra += (f"++profile.iters={iters}",)
    r = rehearse(paper_files, tmp_path, f"table={table}", "-m", f"cells=[{','.join(cells)}]",
                 *extra)
    assert r.returncode == 0, (r.stdout[-2000:], r.stderr[-3000:])
    table_id = next(iter((tmp_path / "sweeps" / "paper-rehearsal").iterdir())).name
    for cell in cells:
        check_run(tmp_path / "sweeps" / "paper-rehearsal" / table_id / cell / "seed0",
                  iters=iters, log=cpu_log)
    md = (tmp_path / "results" / "paper-rehearsal" / f"{table_id}.md").read_text()
    assert "Not the paper's scale: device cpu (paper: cuda)" in md
    assert f"schedule {iters} iterations" in md and "test images: the first 1" in md


def test_entries_no_table_uses_rehearse_as_direct_jobs(paper_files, tmp_path, cpu_log):
    """fcos_atss_r50 and the uncertainty balancer are in conf/ but in no table (and a
    table runs only as a sweep): one job, composed and run as a worker runs it."""
    from hydra import compose, initialize_config_dir

    from repro.core.paths import CONF_DIR
    from repro.job.run_cell import run_cell

    assert UNUSED == set(DIRECT.items())
    iters = iterations(DIRECT)
    data, weights = paper_files
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = compose("config", overrides=[
            "table='hcral-6'", "cell=direct_fcos_atss_uncertainty",
            *(f"{k}={v}" for k, v in DIRECT.items()), "dataset=coco", "cls_loss=hcrac", "reg_loss=hcrar",
            "profile=paper", "rehearse='true'", *STAGE,
            "profile.rehearsal.images_per_gpu=1", f"profile.iters={iters}",
            f"profile.data_root={data}", *weights, f"sweeps_root={tmp_path / 'sweeps'}"])
    status = run_cell(cfg)
    assert status["state"] == "done", status
    check_run(tmp_path / "sweeps" / "paper-rehearsal" / "hcral-6" /
              "direct_fcos_atss_uncertainty" / "seed0", iters=iters, log=cpu_log)


def test_one_cell_as_a_two_task_gloo_job_through_slurm(slurm, paper_files, tmp_path, cpu_log):
    from test_slurm import wait_ended

    cell = "w1.00-1.00__voc_sgd_l1"
    iters = iterations(choices_of("1", cell))
    r = rehearse(paper_files, tmp_path, "table=1", "-m", "hydra/launcher=slurm",
                 f"cells=[{cell}]", "profile.gpus=2", "profile.device=cpu",
                 f"++profile.iters={iters}",
                 # the test cluster is one small node: not the paper's 8 CPUs, 32 GB per task
                 "profile.slurm.cpus_per_task=1", "profile.slurm.mem_gb_per_task=null",
                 env=slurm.env)
    assert r.returncode == 0, r.stderr[-3000:]
    rd = tmp_path / "sweeps" / "paper-rehearsal" / "table1" / cell / "seed0"
    [status] = wait_ended(rd, timeout=1800)
    # cpu_s: rank 0's (the tasks are SLURM's children, not this test's)
    status = check_run(rd, iters=iters, log=cpu_log)
    assert [x["rank"] for x in status["ranks"]] == [0, 1]
    assert [x["iters"] for x in status["ranks"]] == [iters, iters]
    assert "backend='gloo'" in (rd / "mmdet_config.py").read_text()
    assert json.loads((rd / "scale.json").read_text())["images_per_gpu"] == 2  # the paper's


def test_the_gpu_checks_cpu_dry_run_trains_the_paper_cell(tmp_path):
    """2 iterations: the fewest with a measured s/iter (the interval between two)."""
    import subprocess

    from conftest import ROOT

    out = tmp_path / "bench.md"
    r = subprocess.run(["bash", "scripts/gpu_check.sh", "--device", "cpu", "--iters", "2",
                        "--out", str(out)], cwd=ROOT, capture_output=True, text=True,
                       timeout=1800, env={**os.environ, "GPU_CHECK_TIMEOUT": "1700"})
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-3000:]
    text = out.read_text()
    assert "| Faster R-CNN R50 + ALWA_2, 2 images of 1000x600, fp32 | 2 | " in text
    assert "- mmcv CUDA ops: not run (--device cpu)" in text
    row = next(l for l in text.splitlines() if "fp32 | 2 |" in l)
    assert float(row.split("|")[3]) > 0  # a measured s/iter
