"""python -m repro.plan: states from the records, what a launch would run, and the cost
from conf/cost.yaml, without importing torch or mmdet (issue 4, point 4)."""
import os
import subprocess
import sys

from repro.commands import plan as plan_mod
from repro.core import records
from repro.core.paths import PROJECT_ROOT


def run_plan(*args):
    return plan_mod.main(list(args))


def write_record(root, table, cell, seed, **status):
    records.write_json(root / "smoke" / table / cell / f"seed{seed}" / records.STATUS, status)


def test_states_and_what_a_launch_would_run(tmp_path, capsys):
    root = tmp_path / "sweeps"
    write_record(root, "table3", "dynamic_rcnn__initial", 0, state="done")
    write_record(root, "table3", "dynamic_rcnn__alwa1", 0, state="failed", reason="nan")
    write_record(root, "table3", "libra_rcnn__alwa2", 0, state="running")
    assert run_plan("table=3", f"sweeps_root={root}", "noise_seeds=1") == 0
    out = capsys.readouterr().out
    line = {l.split()[0]: l for l in out.splitlines() if "__" in l}
    assert "done" in line["dynamic_rcnn__initial"] and " - " in line["dynamic_rcnn__initial"]
    assert "failed(nan)" in line["dynamic_rcnn__alwa1"] and "yes" not in line["dynamic_rcnn__alwa1"]
    assert "running" in line["libra_rcnn__alwa2"] and "yes*" in line["libra_rcnn__alwa2"]
    assert "yes" in line["double_head_rcnn__initial"]
    assert "9 runs: 1 done, 1 failed, 1 running, 6 pending" in out
    assert "Would run 7 runs" in out and "* running: resumes" in out
    run_plan("table=3", f"sweeps_root={root}", "retry_failed=true", "noise_seeds=1")
    assert "Would run 8 runs" in capsys.readouterr().out
    run_plan("table=3", f"sweeps_root={root}", "force=true", "noise_seeds=1")
    assert "Would run 9 runs" in capsys.readouterr().out


def test_smoke_cost_is_measured_seconds_per_cell(tmp_path, capsys):
    # conf/cost.yaml's seconds per cell: Dynamic 13.8, Double-Head 62.1, Libra 32.9.
    # Table 3: those 3 detectors x 3 columns x 2 seeds = 2 x 3 x 108.8 s = 652.8 s.
    run_plan("table=3", f"sweeps_root={tmp_path}", "seeds=2", "noise_seeds=1")
    out = capsys.readouterr().out
    assert "Cost of the runs to go: 10.9 CPU-minutes, about 5.4 minutes of wall time" in out
    assert "18 runs: 0 done, 0 failed, 0 running, 18 pending" in out
    # the default noise estimate: the Initial column (3 cells) on seeds 0..4, 3 more
    # each: 3 x 108.8 s = 326.4 s = 5.44 min
    run_plan("table=3", f"sweeps_root={tmp_path}", "seeds=2")
    out = capsys.readouterr().out
    assert "27 runs: 0 done, 0 failed, 0 running, 27 pending" in out
    assert ("Noise estimate: 3 reference cells x seeds 0..4 = 9 extra runs, 5.4 CPU-minutes "
            "of the cost below (noise_seeds=5)") in out


def test_a_longer_smoke_schedule_is_priced_by_its_iterations(tmp_path, capsys):
    # profile=smoke-3x trains 660 iterations, conf/cost.yaml's figures are for 220: the
    # 18 runs above cost 3 x 10.88 = 32.6 CPU-minutes.
    run_plan("table=3", "profile=smoke-3x", f"sweeps_root={tmp_path}", "seeds=2",
             "noise_seeds=1")
    out = capsys.readouterr().out
    assert "Cost of the runs to go: 32.6 CPU-minutes, about 16.3 minutes of wall time" in out


def test_paper_noise_estimate_is_priced_in_gpu_hours(tmp_path, capsys):
    # Table 1 under the paper profile (4 GPUs x 2 images, 12 epochs, Faster R-CNN R50 at
    # 0.216 s/iteration on a V100), by hand from conf/cost.yaml:
    #   VOC2012 x3: ceil(34,620 / 8) x 12 = 51,936 iterations x 0.216 x 0.7 (VOC)
    #     = 2.1813 h + 0.1 h test = 2.2813 h x 4 GPUs = 9.1252 GPU-h per run
    #   COCO: ceil(117,266 / 8) x 12 = 175,908 iterations x 0.216
    #     = 10.5545 h + 0.15 h test = 10.7045 h x 4 GPUs = 42.8179 GPU-h per run
    # noise_seeds=3 adds seeds 1, 2 of the 6 reference cells (4 VOC, 2 COCO):
    #   2 x (4 x 9.1252 + 2 x 42.8179) = 244.27 GPU-h
    run_plan("table=1", "profile=paper", f"sweeps_root={tmp_path}")
    out = capsys.readouterr().out
    assert ("Noise estimate: none (noise_seeds=1: one seed per reference cell, every "
            "verdict inconclusive); noise_seeds=3 would add 12 runs of the 6 reference "
            "cells, 244 GPU-hours.") in out
    run_plan("table=1", "profile=paper", f"sweeps_root={tmp_path}", "noise_seeds=3")
    out = capsys.readouterr().out
    assert "= 12 extra runs, 244 GPU-hours of the cost below (noise_seeds=3)" in out
    assert "132 runs" in out


def test_paper_cost_from_iterations_and_seconds_per_iteration(tmp_path, capsys):
    # Table 6: Faster R-CNN R50 on VOC2012 trainval x3, 12 epochs, 2 GPUs x 4 images, by
    # hand: ceil(34,620 / 8) x 12 = 51,936 iterations; 0.216 s x 0.5 (A100) x 0.7 (VOC)
    # x 4/2 (images per GPU) = 0.1512 s; 51,936 x 0.1512 s = 2.1813 h + 0.1 h test
    # = 2.2813 h x 2 GPUs = 4.5626 GPU-h per run; 27 runs = 123.19 GPU-h.
    run_plan("table=6", "profile=paper", f"sweeps_root={tmp_path}", "gpu=a100",
             "launcher=slurm")
    out = capsys.readouterr().out
    assert ("faster_rcnn_r50 on voc: 51,936 iterations x 0.151 s (a100) + test = 2.3 h x 2 "
            "GPUs = 4.6 GPU-h per run") in out
    assert "Cost of the runs to go: 123 GPU-hours" in out
    assert "one job array of 27 tasks" in out and "2 tasks x 1 GPU" in out
    # An override of the figure replaces it for every detector.
    run_plan("table=6", "profile=paper", f"sweeps_root={tmp_path}", "s_per_iter=1.0")
    assert "x 1.400 s (v100)" in capsys.readouterr().out  # 1.0 x 0.7 (VOC) x 4/2 images


def test_bad_arguments_name_the_fix(capsys):
    assert run_plan("table=9") == 2
    assert "unknown table '9'" in capsys.readouterr().err
    assert run_plan("table=1", "profile=paper", "gpu=tpu") == 2
    assert "gpu=tpu" in capsys.readouterr().err
    assert run_plan("table=1", "launcher=pbs") == 2
    assert "launcher=local or launcher=slurm" in capsys.readouterr().err


def test_every_table_plans_without_torch_or_mmdet(tmp_path):
    """It composes each cell with Hydra (repro/sweep/compose.py), from a cold cache here;
    tests/test_compose.py walks every table."""
    code = ("import sys; from repro.commands import plan; "
            "[plan.main(['table=hcral-7', 'profile=' + p]) for p in ('smoke', 'paper')]; "
            "bad = [m for m in ('torch', 'mmdet', 'mmengine', 'pandas') if m in sys.modules]; "
            "sys.exit(f'imported {bad}' if bad else 0)")
    r = subprocess.run([sys.executable, "-c", code], cwd=PROJECT_ROOT, capture_output=True,
                       text=True, env={**os.environ, "REPRO_CACHE_DIR": str(tmp_path)})
    assert r.returncode == 0, r.stderr[-2000:]
