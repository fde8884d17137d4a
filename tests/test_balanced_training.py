"""Balancers inside real MMDetection trainings (smoke profile): every detector family,
every rule whose weight moves, the RoI-head group, and the divergence outcomes."""
import json
import math
import statistics

import pytest
from hydra import compose, initialize_config_dir

from repro.core.paths import CONF_DIR
from repro.job.run_cell import run_cell

pytestmark = pytest.mark.training


def run_job(tmp_path, name, *overrides):
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = compose("config", overrides=["table='1'", f"cell={name}",
                                           f"sweeps_root={tmp_path}", *overrides])
    status = run_cell(cfg)
    rd = tmp_path / "smoke" / "table1" / name / "seed0"
    rows = [json.loads(line) for line in (rd / "scalars.jsonl").read_text().splitlines()]
    return status, rows


def test_alwa1_changes_the_rpn_weight_once_per_window(tmp_path):
    # ALWA_1 compares mean + std: the RPN's cls loss is the larger one from the start.
    status, rows = run_job(tmp_path, "alwa1", "balancer=alwa1", "balancer.interval=5",
                           "profile.iters=20")
    assert status["state"] == "done", status
    w_cls = [r["balancer_w_cls"] for r in rows]
    assert w_cls[:5] == pytest.approx([1.0] * 5)  # alpha = 1 until the first window is full
    for start in (5, 10, 15):  # constant inside a window
        assert w_cls[start:start + 5] == pytest.approx([w_cls[start]] * 5, rel=1e-5)
    assert all(w < 0.999 for w in w_cls[5:]), w_cls
    assert all(w <= 1.0 + 1e-6 for w in w_cls)
    assert [r["balancer_w_reg"] for r in rows] == pytest.approx([1.0] * 20)
    # alpha recomputed from the logged weighted RPN losses of each window: mean + sample
    # std of each, alpha replaced by reg / cls where cls is the larger, else kept
    alpha = 1.0
    for start in (0, 5, 10):
        stat = [statistics.fmean(w) + statistics.stdev(w) for w in (
            [r[key] for r in rows[start:start + 5]] for key in ("loss_rpn_cls", "loss_rpn_bbox"))]
        alpha = stat[1] / stat[0] if stat[0] > stat[1] else alpha
        assert w_cls[start + 5:start + 10] == pytest.approx([alpha] * 5, rel=1e-4), start


def test_dwa_overflow_is_recorded_as_the_outcome(tmp_path):
    # A tiny temperature makes exp(w / T) overflow at the first weight update.
    status, rows = run_job(tmp_path, "dwa", "balancer=dwa", "balancer.period=2",
                           "balancer.temperature=1e-3", "profile.iters=12")
    assert status["state"] == "failed" and status["reason"] == "overflow", status
    # Weights are 1 for the first two periods; iteration 4 closes period 2, computes the
    # weights and overflows, so the record keeps iterations 1-3.
    assert [r["iter"] for r in rows] == [1, 2, 3]
    assert [r["balancer_w_cls"] for r in rows] == pytest.approx([1.0] * 3)


@pytest.mark.parametrize("detector", ["libra_rcnn_r50", "dynamic_rcnn_r50",
                                      "double_head_rcnn_r50"])
def test_alwa1_acts_on_the_rpn_of_every_two_stage_family(tmp_path, detector):
    status, rows = run_job(tmp_path, detector, f"detector={detector}", "balancer=alwa1",
                           "balancer.interval=5", "profile.iters=10")
    assert status["state"] == "done", status
    w_cls = [r["balancer_w_cls"] for r in rows]
    assert w_cls[:5] == pytest.approx([1.0] * 5)
    assert all(w < 0.999 for w in w_cls[5:]), w_cls
    assert {"loss_rpn_cls", "loss_rpn_bbox", "loss_cls", "loss_bbox"} <= set(rows[0])


def test_mask_rcnn_trains_on_the_coco_stand_in_with_alwa(tmp_path):
    status, rows = run_job(tmp_path, "mask", "detector=mask_rcnn_r50", "dataset=coco",
                           "balancer=alwa1", "balancer.interval=5", "profile.iters=10")
    assert status["state"] == "done", status
    assert "loss_mask" in rows[0]
    assert all(r["balancer_w_cls"] < 0.999 for r in rows[5:])
    metrics = json.loads((tmp_path / "smoke/table1/mask/seed0/metrics.json").read_text())
    assert metrics["metric"] == "AP" and "coco/segm_mAP" in metrics["all"]


def test_alwa1_acts_on_retinanets_head(tmp_path):
    # One-stage: the balanced group is the box head's own loss_cls / loss_bbox.
    status, rows = run_job(tmp_path, "retina", "detector=retinanet_r50", "balancer=alwa1",
                           "balancer.interval=5", "profile.iters=10")
    assert status["state"] == "done", status
    w_cls = [r["balancer_w_cls"] for r in rows]
    assert w_cls[:5] == pytest.approx([1.0] * 5)
    assert all(w < 0.999 for w in w_cls[5:]), w_cls  # focal cls loss > L1 reg at the start
    assert "loss_rpn_cls" not in rows[0]


def _dtp_weight(k, gamma=1.0):
    k = min(max(k, 1e-3), 1 - 1e-3)
    return -((1 - k) ** gamma) * math.log(k)


def _dtp_expected(kpis, momentum=0.9):
    """The weights DTP applies given the logged per-iteration KPIs (nan: undefined)."""
    k, out = None, []
    for x in kpis:
        if not math.isnan(x):
            k = x if k is None else momentum * k + (1 - momentum) * x
        out.append(1.0 if k is None else _dtp_weight(k))
    return out


@pytest.mark.parametrize("detector, keys", [
    ("faster_rcnn_r50", ("loss_rpn_cls", "loss_rpn_bbox")),
    ("retinanet_r50", ("loss_cls", "loss_bbox"))])
def test_dtp_weights_follow_the_head_kpis(tmp_path, detector, keys):
    # DTP on the RPN of Faster R-CNN and on RetinaNet's head: the KPIs come from inside
    # the head every iteration; the weights are -(1 - k) log k of their EMAs.
    # EMA factor 0.5 (default 0.9): the weights follow the KPIs closely enough to see.
    status, rows = run_job(tmp_path, "dtp", f"detector={detector}", "balancer=dtp",
                           "balancer.momentum=0.5", "profile.iters=20")
    assert status["state"] == "done", status
    kpi_cls = [r["balancer_kpi_cls"] for r in rows]
    kpi_reg = [r["balancer_kpi_reg"] for r in rows]
    assert all(0.0 < v < 1.0 for v in kpi_cls + kpi_reg), (kpi_cls, kpi_reg)
    w_cls = [r["balancer_w_cls"] for r in rows]
    w_reg = [r["balancer_w_reg"] for r in rows]
    assert w_cls == pytest.approx(_dtp_expected(kpi_cls, 0.5), rel=1e-4)
    assert w_reg == pytest.approx(_dtp_expected(kpi_reg, 0.5), rel=1e-4)
    assert max(w_reg) - min(w_reg) > 0.005, w_reg  # the weights move with the KPIs
    assert len(set(w_cls)) > 10 and len(set(w_reg)) > 10
    assert keys[0] in rows[0] and keys[1] in rows[0]


def test_dtp_accuracy_kpi_on_the_rpn(tmp_path):
    status, rows = run_job(tmp_path, "dtp_acc", "balancer=dtp", "balancer.cls_kpi=accuracy",
                           "profile.iters=6")
    assert status["state"] == "done", status
    # accuracy over the sampled anchors: a fraction of at most 64 x 4 anchors
    kpis = [r["balancer_kpi_cls"] for r in rows]
    assert all(0.0 <= v <= 1.0 for v in kpis)
    assert [r["balancer_w_cls"] for r in rows] == pytest.approx(_dtp_expected(kpis), rel=1e-4)


def test_guided_loss_on_the_roi_head_doubles_its_weight(tmp_path):
    # groups=[anchor, roi]: one Guided Loss per head group, x2 in the RoI head
    # (methods.md 2): the weighted cls loss equals reg (RPN) and 2 x reg (RoI head).
    status, rows = run_job(tmp_path, "guided", "balancer=guided_loss",
                           "balancer.groups=[anchor,roi]", "profile.iters=8")
    assert status["state"] == "done", status
    for r in rows:
        assert r["loss_rpn_cls"] == pytest.approx(r["loss_rpn_bbox"], rel=1e-5)
        assert r["loss_cls"] == pytest.approx(2 * r["loss_bbox"], rel=1e-5)
        assert r["balancer_roi_w_reg"] == 1.0
    roi_w = [r["balancer_roi_w_cls"] for r in rows]
    assert max(roi_w) - min(roi_w) > 0.1, roi_w  # recomputed every iteration


def test_dwa_period_of_an_epoch(tmp_path):
    # Smoke schedule: 36 iterations over the dataset's 12 epochs: period 3 iterations.
    # Weights 1 for the first two periods, then K softmax of the descent rates.
    status, rows = run_job(tmp_path, "dwa_epoch", "balancer=dwa", "balancer.period=epoch",
                           "profile.iters=36")
    assert status["state"] == "done", status
    w_cls = [r["balancer_w_cls"] for r in rows]
    w_reg = [r["balancer_w_reg"] for r in rows]
    assert w_cls[:6] == pytest.approx([1.0] * 6)
    for start in range(6, 36, 3):  # constant within a period, summing to K = 2
        assert w_cls[start:start + 3] == pytest.approx([w_cls[start]] * 3, rel=1e-5)
    assert [c + r for c, r in zip(w_cls, w_reg)] == pytest.approx([2.0] * 36, rel=1e-5)
    # the first new weights from the logged unweighted losses of periods 1 and 2
    cls_loss = [r["loss_rpn_cls"] / r["balancer_w_cls"] for r in rows]
    reg_loss = [r["loss_rpn_bbox"] / r["balancer_w_reg"] for r in rows]
    rates = [sum(x[3:6]) / sum(x[0:3]) for x in (cls_loss, reg_loss)]
    e = [math.exp(v / 2.0) for v in rates]
    assert w_cls[6] == pytest.approx(2 * e[0] / (e[0] + e[1]), rel=1e-4)
    assert len(set(round(w, 6) for w in w_cls[6:])) > 3  # it moves period by period


def test_a_balanced_run_that_diverges_is_recorded_nan(tmp_path):
    # The paper's Table 4 "nan" cell (Guided Loss on Libra R-CNN), forced by a step size
    # that blows the weights up: the run stops at the first non-finite total loss.
    status, rows = run_job(tmp_path, "diverged", "balancer=guided_loss", "optimizer.lr=1e9",
                           "profile.iters=12")
    assert status["state"] == "failed" and status["reason"] == "nan", status
    assert not math.isfinite(rows[-1]["loss"]) and len(rows) < 12
    assert all(math.isfinite(r["loss"]) for r in rows[:-1])
    assert all("balancer_w_cls" in r for r in rows)


def test_dwa_period_of_an_epoch_read_from_the_dataloader(tmp_path):
    # An epoch-based schedule (as the paper profile's): 3 epochs over the 768 synthetic
    # images in batches of 16, so BalancerEpochHook sets the period to 48 iterations.
    status, rows = run_job(tmp_path, "dwa_epochs", "balancer=dwa", "balancer.period=epoch",
                           "~profile.iters", "dataset.epochs=3", "dataset.repeat=1",
                           "dataset.milestones=[2]", "profile.images_per_gpu=16")
    assert status["state"] == "done", status
    assert len(rows) == 3 * 48
    w_cls = [r["balancer_w_cls"] for r in rows]
    assert w_cls[:96] == pytest.approx([1.0] * 96)  # the first two epochs
    assert w_cls[96:] == pytest.approx([w_cls[96]] * 48, rel=1e-5)
    assert abs(w_cls[96] - 1.0) > 1e-3, w_cls[96]


def test_dtp_reads_the_kpis_of_an_atss_head_too(tmp_path):
    # The tap binds loss_by_feat_single's arguments by name: ATSS (HCRAL's head, its own
    # argument order, decoded box targets) works as the RPN and RetinaNet do.
    status, rows = run_job(tmp_path, "dtp_atss", "detector=atss_r50", "dataset=coco",
                           "reg_loss=giou", "balancer=dtp", "profile.iters=6")
    assert status["state"] == "done", status
    for key in ("cls", "reg"):
        kpis = [r[f"balancer_kpi_{key}"] for r in rows]
        assert all(0.0 < v < 1.0 for v in kpis), kpis
        assert [r[f"balancer_w_{key}"] for r in rows] == pytest.approx(_dtp_expected(kpis),
                                                                       rel=1e-4)
    assert len({r["balancer_w_reg"] for r in rows}) == 6
