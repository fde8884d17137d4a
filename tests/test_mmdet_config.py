"""Each cell's MMDetection config, composed without training: the paper's settings under
the paper profile, and the same meaning (losses, weights, optimizer) under smoke."""
import json
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir

from repro.core.paths import CONF_DIR
from repro.job.mmdet_config import build_mmdet_config
from repro.table.spec import load_table

TABLE = load_table("1")


def cell_config(cell_id, *extra):
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        return compose("config", overrides=["table='1'", *TABLE.cell(cell_id).overrides,
                                            f"cell={cell_id}", *extra])


def mmdet(cell_id, tmp_path, *extra):
    return build_mmdet_config(cell_config(cell_id, *extra), tmp_path)


PAPER = ("profile=paper", "profile.pretrained.resnet50=/weights/r50.pth", "profile.data_root=/d")


def test_paper_profile_voc_sgd_cell_has_the_papers_settings(tmp_path):
    mm = mmdet("w0.10-0.50__voc_sgd_l1", tmp_path, *PAPER)
    assert mm.model.type == "FasterRCNN" and mm.model.backbone.depth == 50
    assert mm.model.backbone.init_cfg == {"type": "Pretrained", "checkpoint": "/weights/r50.pth"}
    # The Table 1 weights act on the RPN only (authors' code, methods.md section 1).
    assert mm.model.rpn_head.loss_cls.loss_weight == 0.1
    assert mm.model.rpn_head.loss_bbox == {"type": "L1Loss", "loss_weight": 0.5}
    assert mm.model.roi_head.bbox_head.loss_cls.loss_weight == 1.0
    assert mm.model.roi_head.bbox_head.loss_bbox == {"type": "L1Loss", "loss_weight": 1.0}
    assert mm.model.roi_head.bbox_head.num_classes == 20
    assert mm.optim_wrapper.optimizer == {"type": "SGD", "lr": 0.01, "momentum": 0.9,
                                          "weight_decay": 0.0001}
    assert mm.train_dataloader.batch_size == 2
    # lr 0.01 is for 4 GPUs x 2 images; fewer processes scale it linearly.
    assert mm.auto_scale_lr == {"enable": True, "base_batch_size": 8}
    # VOC2012 trainval x3, 12 epochs, LR steps at 8 and 11; test on VOC2007 test.
    train = mm.train_dataloader.dataset
    # built as the RepeatDataset it wraps, each sample's flips from its own seed
    # (profile.sample_seeds: repro/job/sample_seeds.py)
    assert train.type == "SampleSeededDataset" and train.seed == 0
    assert train.wraps == "RepeatDataset" and train.times == 3
    assert [d.data_prefix.sub_data_root for d in train.dataset.datasets] == ["VOC2012/"]
    assert train.dataset.datasets[0].data_root == "/d/VOCdevkit/"
    assert mm.test_dataloader.dataset.ann_file == "VOC2007/ImageSets/Main/test.txt"
    # mmengine's epoch loop, resumable mid-epoch (preemption), on the shipped batch sampler;
    # outermost, the one that hands each index over with its epoch (sample_seeds).
    assert mm.train_cfg == {"type": "ResumableEpochBasedTrainLoop", "max_epochs": 12,
                            "val_interval": 13}
    assert mm.train_dataloader.batch_sampler == {
        "type": "SampleEpochBatchSampler", "inner": {
            "type": "ResumableBatchSampler", "inner": {"type": "AspectRatioBatchSampler"}}}
    steps = [s for s in mm.param_scheduler if s.type == "MultiStepLR"]
    assert steps[0].milestones == [8, 11]
    assert mm.test_evaluator.type == "VOCMetric" and mm.test_evaluator.eval_mode == "11points"


def test_paper_profile_coco_adamw_cell(tmp_path):
    mm = mmdet("w1.00-1.00__coco_adamw_l1", tmp_path, *PAPER)
    assert mm.optim_wrapper.optimizer == {"type": "AdamW", "lr": 0.0001, "weight_decay": 0.05}
    assert mm.model.roi_head.bbox_head.num_classes == 80
    assert mm.train_dataloader.dataset.data_root == "/d/coco/"
    assert mm.test_evaluator.ann_file == "/d/coco/annotations/instances_val2017.json"


def test_ciou_regresses_decoded_boxes_in_both_heads(tmp_path):
    mm = mmdet("w1.00-1.00__voc_sgd_ciou", tmp_path, *PAPER)
    assert mm.model.rpn_head.reg_decoded_bbox and mm.model.roi_head.bbox_head.reg_decoded_bbox
    assert mm.model.rpn_head.loss_bbox == {"type": "CIoULoss", "loss_weight": 1.0}
    assert mm.model.roi_head.bbox_head.loss_bbox == {"type": "CIoULoss", "loss_weight": 12.0}


def _meaning(mm):
    """What a profile must not change: detector, losses and their weights, optimizer."""
    m = mm.model
    return (m.type, m.rpn_head.type, m.roi_head.type, m.rpn_head.loss_cls, m.rpn_head.loss_bbox,
            m.roi_head.bbox_head.loss_cls, m.roi_head.bbox_head.loss_bbox,
            m.rpn_head.get("reg_decoded_bbox"), mm.optim_wrapper.optimizer.type,
            mm.optim_wrapper.optimizer.get("momentum"), mm.optim_wrapper.optimizer.weight_decay,
            mm.test_evaluator.type)


@pytest.mark.parametrize("cell_id", ["w0.25-0.75__voc_sgd_smoothl1", "w2.00-1.50__voc_sgd_ciou",
                                     "w0.50-0.25__voc_adamw_l1", "w1.50-2.00__coco_sgd_l1"])
def test_a_profile_changes_scale_not_meaning(cell_id, tmp_path):
    smoke = mmdet(cell_id, tmp_path)
    paper = mmdet(cell_id, tmp_path, *PAPER)
    assert _meaning(smoke) == _meaning(paper)
    # the smoke backbone: ResNet-18-shaped, its stand-in weights through MMDetection's own
    # pretrained path (repro/mmdet/stand_in_backbone.py), the shipped frozen stem and BN
    assert smoke.model.backbone.depth == 18
    assert smoke.model.backbone.init_cfg["type"] == "Pretrained"
    assert smoke.model.backbone.init_cfg["checkpoint"].endswith("resnet18-w16-s400-v1.pth")
    assert (smoke.model.backbone.frozen_stages, smoke.model.backbone.norm_eval) == \
        (paper.model.backbone.frozen_stages, paper.model.backbone.norm_eval) == (1, True)
    assert smoke.train_cfg.type == "IterBasedTrainLoop"


def test_retinanet_paper_config_and_its_balanced_head(tmp_path):
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = compose("config", overrides=["table='1'", "cell=retina", *PAPER,
                                           "detector=retinanet_r50", "balancer=alwa2",
                                           "reg_loss=ciou"])
    mm = build_mmdet_config(cfg, tmp_path)
    assert mm.model.type == "BalancedRetinaNet" and mm.model.backbone.depth == 50
    assert mm.model.balancer == {"type": "alwa", "variant": 2, "interval": 100,
                                 "lambda0": 1.0, "sync": False}
    assert mm.model.balance_keys == {"cls": "loss_cls", "reg": "loss_bbox"}
    assert mm.model.bbox_head.loss_bbox == {"type": "CIoULoss", "loss_weight": 1.0}
    assert mm.model.bbox_head.reg_decoded_bbox and mm.model.bbox_head.num_classes == 20
    assert mm.model.bbox_head.loss_cls.type == "FocalLoss"


def test_voc0712_trains_on_both_years_with_its_embedded_stand_in(tmp_path):
    from pathlib import Path

    for extra in (PAPER, ()):  # smoke last: its synthetic VOC2007 has a trainval split
        mm = mmdet("w1.00-1.00__voc_sgd_l1", tmp_path, "dataset=voc0712", *extra)
        leaves = mm.train_dataloader.dataset.dataset.datasets
        assert [d.data_prefix.sub_data_root for d in leaves] == ["VOC2007/", "VOC2012/"]
        assert mm.test_dataloader.dataset.ann_file == "VOC2007/ImageSets/Main/test.txt"
    for d in leaves:
        assert (Path(d.data_root) / d.ann_file).is_file()


@pytest.mark.parametrize("detector, paper_depth, smoke_depth", [
    ("faster_rcnn_r50", 50, 18), ("faster_rcnn_r101", 101, 34), ("retinanet_r101", 101, 34)])
def test_a_deeper_paper_backbone_stays_deeper_under_smoke(tmp_path, detector, paper_depth,
                                                         smoke_depth):
    cell = "w1.00-1.00__voc_sgd_l1"
    paper = mmdet(cell, tmp_path, f"detector={detector}", *PAPER,
                  "profile.pretrained.resnet101=/weights/r101.pth")
    smoke = mmdet(cell, tmp_path, f"detector={detector}")
    assert paper.model.backbone.depth == paper_depth
    assert smoke.model.backbone.depth == smoke_depth
    # the FPN follows the backbone's widths (BasicBlock stages: 16, 32, 64, 128)
    assert smoke.model.neck.in_channels == [16, 32, 64, 128]


def test_a_config_names_its_stand_in_and_only_a_runner_trains_it(tmp_path):
    """Building a config (the plan, the config tests) never pretrains the smoke backbone;
    the first runner built from it does, into the cached file the config names."""
    from repro.job.train import build_runner

    mm = mmdet("w1.00-1.00__voc_sgd_l1", tmp_path / "work", f"profile.data_root={tmp_path}",
               "++profile.backbone.stand_in.steps=2", "++profile.backbone.stand_in.batch=4")
    path = Path(mm.model.backbone.init_cfg["checkpoint"])
    assert path == tmp_path / "stand-in-backbones" / "resnet18-w16-s2-v1.pth"
    assert (mm.stand_in_backbone["depth"], mm.stand_in_backbone["recipe"]["steps"]) == (18, 2)
    from repro.mmdet.stand_in_backbone import StandIn
    assert StandIn.from_config(mm.stand_in_backbone).path == path  # one spelling of the file
    assert not path.exists()
    build_runner(mm, threads=1)
    assert path.is_file()
    meta = json.loads(path.with_suffix(".json").read_text())
    assert (meta["depth"], meta["recipe"]["steps"], meta["recipe"]["batch"]) == (18, 2, 4)
