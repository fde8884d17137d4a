"""The plan's disk line against hand-computed numbers (conf/cost.yaml `disk`)."""

from repro.commands.plan import main as plan_main

CELLS = "cells=w1.00-1.00__voc_sgd_l1,w1.00-1.00__coco_adamw_l1"
# By hand, from conf/cost.yaml: Faster R-CNN R50 weights 165.5 MB; checkpoints with SGD
# (one momentum slot) 331 MB, with AdamW (two moments) 496.5 MB. Iterations at 4 GPUs x 2
# images, 12 epochs: VOC2012 x3 ceil(34620 / 8) x 12 = 51,936, COCO ceil(117266 / 8) x 12
# = 175,908; records 0.1 MB + 0.8 MB per 1000 iterations: 41.65 and 140.83 MB.
RECORDS = (0.1 + 0.8 * 51.936) + (0.1 + 0.8 * 175.908)  # 182.5 MB


def disk_line(capsys, *args):
    assert plan_main(["table=1", "profile=paper", CELLS, *args]) == 0
    [line] = [l for l in capsys.readouterr().out.splitlines() if l.startswith("Disk: ")]
    return line


def test_the_disk_at_the_peak_and_at_the_end(capsys):
    peak = RECORDS + 2 * (496.5 + 331)  # both train at once (array_parallelism 32)
    assert round(peak) == 1837
    assert disk_line(capsys, "launcher=slurm") == (
        "Disk: 1.8 GB at the peak (2 run(s) at once x 2 checkpoints of up to 496 MB, plus "
        "records), 182 MB at the end (records; conf/cost.yaml disk)")


def test_keep_weights_keeps_the_final_weights(capsys):
    assert round(RECORDS + 2 * 165.5) == 513
    assert disk_line(capsys, "launcher=slurm", "keep_weights=true").endswith(
        "513 MB at the end (records; keep_weights=true: + final weights; conf/cost.yaml disk)")


def test_one_local_worker_holds_one_run_s_checkpoints(capsys, monkeypatch):
    monkeypatch.setenv("REPRO_LOCAL_JOBS", "1")
    assert round((RECORDS + 2 * 496.5) / 100) / 10 == 1.2
    assert disk_line(capsys).startswith(
        "Disk: 1.2 GB at the peak (1 run(s) at once x 2 checkpoints of up to 496 MB")
