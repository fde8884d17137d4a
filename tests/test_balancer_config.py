"""How a balancer entry becomes the Balanced<Detector> config: head groups (RoI head x2
for Guided Loss), DTP's KPI head, DWA's period of an epoch; and the epoch hook."""
from types import SimpleNamespace

import pytest
import torch
from hydra import compose, initialize_config_dir

from repro.core.errors import ReproError
from repro.core.paths import CONF_DIR
from repro.job.mmdet_config import build_mmdet_config

PAPER = ("profile=paper", "profile.pretrained.resnet50=/weights/r50.pth", "profile.data_root=/d")


def mmdet(tmp_path, *overrides):
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = compose("config", overrides=["table='1'", "cell=c", *overrides])
    return build_mmdet_config(cfg, tmp_path)


def test_default_group_is_the_anchor_head_only(tmp_path):
    mm = mmdet(tmp_path, "balancer=guided_loss")
    assert mm.model.type == "BalancedFasterRCNN"
    assert mm.model.balancer == {"type": "guided_loss", "mode": "per_iter", "warmup": 100,
                                 "scale": 1.0}
    assert mm.model.balance_keys == {"cls": "loss_rpn_cls", "reg": "loss_rpn_bbox"}
    assert "roi_balancer" not in mm.model and "balance_kpi" not in mm.model


def test_guided_loss_in_the_roi_head_is_doubled(tmp_path):
    mm = mmdet(tmp_path, "balancer=guided_loss", "balancer.groups=[roi]", "balancer.scale=1.5")
    assert "balancer" not in mm.model  # the RPN is left alone
    assert mm.model.roi_balancer == {"type": "guided_loss", "mode": "per_iter",
                                     "warmup": 100, "scale": 3.0}
    assert mm.model.roi_balance_keys == {"cls": "loss_cls", "reg": "loss_bbox"}
    both = mmdet(tmp_path, "balancer=guided_loss", "balancer.groups=[anchor,roi]")
    assert both.model.balancer["scale"] == 1.0 and both.model.roi_balancer["scale"] == 2.0


def test_other_rules_in_the_roi_head_keep_their_parameters(tmp_path):
    mm = mmdet(tmp_path, "balancer=alwa1", "balancer.groups=[anchor,roi]")
    assert mm.model.roi_balancer == mm.model.balancer == {
        "type": "alwa", "variant": 1, "interval": 100, "lambda0": 1.0, "sync": False}


@pytest.mark.parametrize("overrides, match", [
    (("detector=retinanet_r50", "balancer=guided_loss", "balancer.groups=[anchor,roi]"),
     "no RoI head"),
    (("balancer=alwa2", "balancer.groups=[]"), "groups"),
    (("balancer=alwa2", "balancer.groups=[rpn]"), "groups"),
    (("balancer=alwa2", "balancer.groups=[anchor,anchor]"), "groups"),
    (("balancer=dtp", "balancer.groups=[roi]"), "anchor head only"),
    (("balancer=dtp", "balancer.cls_kpi=recall"), "cls_kpi"),
    (("balancer=dwa", "balancer.period=week"), "period"),
])
def test_bad_balancer_settings_are_refused_with_the_fix(tmp_path, overrides, match):
    with pytest.raises(ReproError, match=match):
        mmdet(tmp_path, *overrides)


@pytest.mark.parametrize("detector, head", [("faster_rcnn_r50", "rpn_head"),
                                            ("retinanet_r50", "bbox_head")])
def test_dtp_reads_its_kpis_in_the_anchor_head(tmp_path, detector, head):
    mm = mmdet(tmp_path, f"detector={detector}", "balancer=dtp", "balancer.gamma=2",
               "balancer.momentum=0.8")
    assert mm.model.balancer == {"type": "dtp", "gamma": 2, "momentum": 0.8}
    assert mm.model.balance_kpi == {"head": head, "cls": "true_prob"}


def test_dwa_period_epoch_smoke_counts_the_schedules_epoch(tmp_path):
    # 220 iterations over VOC's 12 epochs: 18 iterations an epoch (as the LR steps)
    assert mmdet(tmp_path, "balancer=dwa", "balancer.period=epoch").model.balancer == {
        "type": "dwa", "period": 18, "temperature": 2.0}
    assert mmdet(tmp_path, "balancer=dwa", "balancer.period=epoch",
                 "profile.iters=36").model.balancer["period"] == 3
    assert mmdet(tmp_path, "balancer=dwa").model.balancer["period"] == 100


def test_dwa_period_epoch_paper_profile_waits_for_the_dataloader(tmp_path):
    mm = mmdet(tmp_path, *PAPER, "balancer=dwa", "balancer.period=epoch")
    assert mm.model.balancer["period"] == "epoch"
    assert {"type": "BalancerEpochHook"} in mm.custom_hooks


def test_epoch_hook_builds_the_rule_before_a_resumed_state_loads():
    from repro.balancers import DWA
    from repro.mmdet.balanced_detector import BalancerEpochHook, BalancerHolder

    holder = BalancerHolder({"type": "dwa", "period": "epoch", "temperature": 2.0})
    model = torch.nn.Sequential(holder)
    with pytest.raises(RuntimeError, match="never resolved"):
        model.state_dict()
    saved = DWA(period=7)
    saved(torch.tensor(2.0), torch.tensor(1.0))
    runner = SimpleNamespace(model=model, train_dataloader=range(7),
                             logger=SimpleNamespace(info=lambda msg: None))
    BalancerEpochHook().before_run(runner)
    assert isinstance(holder.rule, DWA) and holder.rule.period == 7
    model.load_state_dict({"0._extra_state": saved.state_dict()})
    assert holder.rule.calls_in_period == 1
    with pytest.raises(ValueError, match="DWA setting"):
        BalancerHolder({"type": "alwa", "period": "epoch"})
