"""The HCRAL paper's tables (conf/table/hcral-*.yaml): every cell composes and builds its
MMDetection config, with the paper's settings; the test-dev submission and the command
that enters the evaluation server's score back."""
import json
import subprocess
import sys

import pytest
from hydra import compose, initialize_config_dir

from repro.commands.enter import enter
from repro.core import records
from repro.core.errors import ReproError
from repro.core.paths import CONF_DIR, PROJECT_ROOT
from repro.job.mmdet_config import build_mmdet_config
from repro.report.collect import read_record
from repro.table.spec import load_table

TABLES = ("hcral-9", "hcral-6", "hcral-7")
# Res2Net-101 (Table 7's R2-101-DCN) has no entry in the paper profile's weights: its
# ImageNet checkpoint must be named, else MMDetection's config would download one.
PAPER = ("profile.pretrained.resnet50=/w/r50.pth", "profile.pretrained.resnet101=/w/r101.pth",
         "profile.pretrained.res2net101=/w/r2.pth", "profile.data_root=/d")


def cfg_of(table, cell_id, profile="smoke", *extra):
    cell = load_table(table).cell(cell_id)
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        return compose("config", overrides=[f"table={table}", f"profile={profile}",
                                            *cell.overrides_for(profile), f"cell={cell_id}",
                                            *extra])


def mmdet(table, cell_id, tmp_path, profile="smoke", *extra):
    return build_mmdet_config(cfg_of(table, cell_id, profile, *extra), tmp_path)


@pytest.mark.parametrize("table", TABLES)
def test_every_cell_builds_and_every_table_says_hcral_is_a_reconstruction(table, tmp_path):
    spec = load_table(table)
    assert "reconstructed from the paper's prose and ablations" in spec.note
    for cell in spec.cells():
        mm = mmdet(table, cell.id, tmp_path)
        assert mm.model.bbox_head.type.startswith("HCRAL")
        assert mm.model.bbox_head.num_classes == 6  # the embedded COCO stand-in


def test_table9_losses_and_weights(tmp_path):
    head = lambda cell: mmdet("hcral-9", cell, tmp_path).model.bbox_head  # noqa: E731
    assert head("retina_fl__val2017").loss_cls.type == "FocalLoss"
    assert head("retina_fl__val2017").loss_bbox == {"type": "L1Loss", "loss_weight": 1.0}
    assert head("retina_dr__val2017").loss_cls.type == "DRLoss"
    assert head("retina_qfl__val2017").loss_cls.type == "QualityFocalLoss"
    # RetinaNet: regression weight 2.5 on decoded boxes (paper section 4)
    h = head("retina_feiou__val2017")
    assert h.loss_bbox == {"type": "FocalEfficientIoULoss", "gamma": 0.5, "loss_weight": 2.5}
    assert h.reg_decoded_bbox
    assert head("retina_hcrar__val2017").loss_bbox.loss_weight == 2.5
    assert head("retina_hcrar__val2017").loss_bbox.iou_factor is True
    # ATSS: shipped GIoU x 2.0; HCRAR without its IoU factor at 1.5 (paper 4.1)
    assert head("atss_giou__val2017").loss_bbox == {"type": "GIoULoss", "loss_weight": 2.0}
    h = head("atss_hcrar__val2017")
    assert h.loss_bbox.loss_weight == 1.5 and h.loss_bbox.iou_factor is False
    assert head("atss_alpha_iou__val2017").loss_bbox == {
        "type": "AlphaIoULoss", "alpha": 3.0, "form": "iou", "loss_weight": 2.0}


def test_table6_parameters_reach_the_losses_and_the_assigner(tmp_path):
    m = lambda cell: mmdet("hcral-6", cell, tmp_path).model  # noqa: E731
    cls = m("cls_k4_m20__val2017").bbox_head.loss_cls
    assert (cls.type, cls.pos_weight, cls.bins, cls.decay, cls.rci) == \
        ("HCRACLoss", 4.0, 20, 0.7, True)
    assert m("cls_norci_m20__val2017").bbox_head.loss_cls.rci is False
    assert m("cls_k5_m30__val2017").bbox_head.loss_cls.bins == 30
    assert m("decay0.9__val2017").bbox_head.loss_cls.decay == 0.9
    reg = m("rci_a-0.2_ep0.01__val2017").bbox_head.loss_bbox
    assert (reg.type, reg.alpha, reg.ep, reg.theta) == ("HCRARLoss", -0.2, 0.01, 1.2)
    assert m("rci_none__val2017").bbox_head.loss_bbox.rci is False
    assert m("theta1.4__val2017").bbox_head.loss_bbox.theta == 1.4
    # components: FCOS+ATSS with the auxiliary modules (VFNet's head), ATSS (l = 0) vs EATSS
    base = m("comp_none__val2017")
    assert base.bbox_head.type == "HCRALVFNetHead" and base.train_cfg.assigner.l == 0
    assert base.bbox_head.use_vfl is False and base.bbox_head.loss_cls_fl.type == "FocalLoss"
    full = m("comp_eatss_hcrac_hcrar__val2017")
    assert full.train_cfg.assigner == {"type": "EATSSAssigner", "topk": 9, "l": 3,
                                       "dist_weight": 1.0}
    assert full.bbox_head.loss_cls_fl.type == "HCRACLoss"  # VFNetHead builds this one
    assert full.bbox_head.loss_bbox.type == "HCRARLoss"
    assert [m(f"l{k}__val2017").train_cfg.assigner.l for k in (2, 3, 4)] == [2, 3, 4]


def test_table7_writes_a_submission_file_instead_of_a_score(tmp_path):
    mm = mmdet("hcral-7", "r101_dcn__testdev", tmp_path)
    ev = mm.test_evaluator
    assert ev.type == "CocoMetric" and ev.format_only is True
    assert ev.outfile_prefix == str(tmp_path / "detections_test-dev2017_r101_dcn__testdev_results")
    assert mm.model.bbox_head.loss_cls_fl.type == "HCRACLoss"
    assert mm.model.bbox_head.loss_bbox.type == "HCRARLoss"
    # smoke: multi-scale training becomes the profile's one scale; DCN needs a bottleneck
    assert "RandomResize" not in str(mm.train_dataloader)
    assert mm.model.backbone.depth == 50 and mm.model.backbone.dcn


@pytest.mark.parametrize("table,cell", [("hcral-9", "atss_hcrar__val2017"),
                                        ("hcral-6", "comp_eatss_hcrac_hcrar__val2017"),
                                        ("hcral-7", "r2_101_dcn__testdev")])
def test_paper_profile_has_the_papers_settings(table, cell, tmp_path):
    mm = mmdet(table, cell, tmp_path, "paper", *PAPER)
    assert mm.auto_scale_lr.base_batch_size == 16  # 8 GPUs x 2 images, LR 0.01
    warmup = next(s for s in mm.param_scheduler if s.type == "LinearLR")
    assert warmup.start_factor == (0.001 if table == "hcral-9" else 0.1)
    if table == "hcral-7":
        assert mm.model.backbone.type == "Res2Net" and mm.model.backbone.depth == 101
        assert mm.model.backbone.init_cfg.checkpoint == "/w/r2.pth"
        assert mm.test_dataloader.dataset.ann_file == "annotations/image_info_test-dev2017.json"
        assert mm.test_evaluator.ann_file == "/d/coco/annotations/image_info_test-dev2017.json"
        assert mm.train_cfg.max_epochs == 24
        assert "RandomResize" in str(mm.train_dataloader)
    else:
        assert mm.test_evaluator.ann_file == "/d/coco/annotations/instances_val2017.json"


@pytest.mark.parametrize("extra,message", [
    (("detector=retinanet_r50", "cls_loss=qfl"), "needs IoU soft targets"),
    (("detector=retinanet_r50", "reg_loss=hcrar"), "needs the classification scores"),
    (("detector=fcos_atss_aux_r50", "cls_loss=qfl"), "not available on HCRALVFNetHead")])
def test_a_loss_the_head_cannot_feed_is_a_clear_error(extra, message, tmp_path):
    with pytest.raises(ReproError, match=message):
        mmdet("hcral-9", "retina_fl__val2017", tmp_path, "smoke", *extra)


def _done_run(root, table="hcral-7", cell="r50__testdev"):
    rd = root / "smoke" / table / cell / "seed0"
    records.write_json(rd / records.STATUS, {"state": "done", "seconds": 3.0})
    records.write_json(rd / records.METRICS, {"metric": "AP", "value": None, "iterations": 20,
                                              "source": "awaiting evaluation server"})
    (rd / "config.yaml").write_text("dataset:\n  metric: AP\n")
    return rd


def test_enter_writes_the_servers_score_where_the_collector_reads_it(tmp_path):
    rd = _done_run(tmp_path)
    enter(["table=hcral-7", "cell=r50__testdev", "seed=0", "AP=41.2", "AP50=60.1",
           f"sweeps_root={tmp_path}"])
    m = json.loads((rd / records.METRICS).read_text())
    assert (m["value"], m["source"], m["all"], m["iterations"]) == (
        41.2, "evaluation server", {"AP": 41.2, "AP50": 60.1}, 20)
    assert read_record(str(rd))["value"] == 41.2 and read_record(str(rd))["state"] == "done"


@pytest.mark.parametrize("args,message", [
    (["cell=r50__testdev", "seed=0", "AP=41.2"], "missing table="),
    (["table=hcral-7", "cell=nope", "seed=0", "AP=41.2"], "no cell 'nope'"),
    (["table=hcral-7", "cell=r50__testdev", "seed=0", "AP50=60"], "no AP="),
    (["table=hcral-7", "cell=r50__testdev", "seed=0", "AP=4l.2"], "not a number"),
    (["table=hcral-7", "cell=r101__testdev", "seed=0", "AP=41.2"], "is not done")])
def test_enter_refuses_bad_input(args, message, tmp_path):
    _done_run(tmp_path)
    with pytest.raises(ReproError, match=message):
        enter([*args, f"sweeps_root={tmp_path}"])


def test_enter_command_line_fails_cleanly(tmp_path):
    r = subprocess.run([sys.executable, "-m", "repro.enter", "table=hcral-7", "cell=r50__testdev",
                        "seed=0", "AP=41.2", f"sweeps_root={tmp_path}"],
                       cwd=PROJECT_ROOT, capture_output=True, text=True)
    assert r.returncode == 2 and r.stderr.startswith("repro: run ") and "Traceback" not in r.stderr
