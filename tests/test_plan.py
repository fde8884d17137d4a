"""python -m repro.plan: states from the records, what a launch would run, and the cost
from conf/cost.yaml, without importing torch or mmdet (issue 4, point 4)."""
import math
import subprocess
import sys

import yaml

from repro.commands import plan as plan_mod
from repro.core import records
from repro.core.paths import CONF_DIR, PROJECT_ROOT

COST = yaml.safe_load((CONF_DIR / "cost.yaml").read_text())


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
    run_plan("table=3", f"sweeps_root={tmp_path}", "seeds=2", "noise_seeds=1")
    out = capsys.readouterr().out
    s = COST["smoke"]["s_per_cell"]
    per_row = s["dynamic_rcnn_*"] + s["double_head_*"] + s["libra_rcnn_*"]
    total = 2 * per_row * 3
    assert f"{total / 60:.1f} CPU-minutes" in out
    assert "18 runs: 0 done, 0 failed, 0 running, 18 pending" in out
    # the default noise estimate: the Initial column (3 cells) on seeds 0..4, 3 more each
    run_plan("table=3", f"sweeps_root={tmp_path}", "seeds=2")
    out = capsys.readouterr().out
    assert "27 runs: 0 done, 0 failed, 0 running, 27 pending" in out
    assert (f"Noise estimate: 3 reference cells x seeds 0..4 = 9 extra runs, "
            f"{3 * per_row / 60:.1f} CPU-minutes of the cost below (noise_seeds=5)") in out


def test_paper_noise_estimate_is_priced_in_gpu_hours(tmp_path, capsys):
    # Table 1 under the paper profile: one seed by default; what noise_seeds=3 would cost
    run_plan("table=1", "profile=paper", f"sweeps_root={tmp_path}")
    out = capsys.readouterr().out
    p = COST["paper"]
    per_run = {}
    for fam, images in (("voc", p["images"]["VOC2012"] * 3), ("coco", p["images"]["coco"])):
        iters = math.ceil(images / 8) * 12
        s = p["s_per_iter"]["faster_rcnn_r50"] * p["dataset_factor"][fam]
        per_run[fam] = (iters * s / 3600 + p["test_hours"][fam]) * 4
    extra = 2 * (4 * per_run["voc"] + 2 * per_run["coco"])  # 6 reference cells x 2 seeds
    assert ("Noise estimate: none (noise_seeds=1: one seed per reference cell, every "
            "verdict inconclusive); noise_seeds=3 would add 12 runs of the 6 reference "
            f"cells, {extra:,.0f} GPU-hours.") in out
    run_plan("table=1", "profile=paper", f"sweeps_root={tmp_path}", "noise_seeds=3")
    out = capsys.readouterr().out
    assert f"= 12 extra runs, {extra:,.0f} GPU-hours of the cost below (noise_seeds=3)" in out
    assert "132 runs" in out


def test_paper_cost_from_iterations_and_seconds_per_iteration(tmp_path, capsys):
    # Table 6: Faster R-CNN R50 on VOC2012 trainval x3, 12 epochs, 2 GPUs x 4 images.
    run_plan("table=6", "profile=paper", f"sweeps_root={tmp_path}", "gpu=a100",
             "launcher=slurm")
    out = capsys.readouterr().out
    p = COST["paper"]
    iters = math.ceil(p["images"]["VOC2012"] * 3 / 8) * 12
    s = p["s_per_iter"]["faster_rcnn_r50"] * p["gpu_factor"]["a100"] * p["dataset_factor"]["voc"] * 4 / 2
    gpu_h = (iters * s / 3600 + p["test_hours"]["voc"]) * 2
    assert f"{iters:,} iterations" in out and f"= {gpu_h:.1f} GPU-h per run" in out
    assert f"{27 * gpu_h:,.0f} GPU-hours" in out
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


def test_every_table_plans_without_torch_or_mmdet():
    code = ("import sys; from repro.commands import plan; "
            "[plan.main(['table=' + t, 'profile=' + p]) for t in ('all',) for p in ('smoke', 'paper')]; "
            "bad = [m for m in ('torch', 'mmdet', 'mmengine', 'hydra', 'pandas') if m in sys.modules]; "
            "sys.exit(f'imported {bad}' if bad else 0)")
    r = subprocess.run([sys.executable, "-c", code], cwd=PROJECT_ROOT, capture_output=True,
                       text=True)
    assert r.returncode == 0, r.stderr[-2000:]
