"""HCRAL's MMDetection components without training: the EATSS assigner on hand-placed
priors, and the HCRAL heads handing HCRAC its IoU targets and HCRAR its scores."""
import pytest
import torch
from mmdet.utils import register_all_modules
from mmengine.structures import InstanceData

import repro.mmdet.hcral as hcral
import repro.mmdet.losses as losses
from repro.mmdet.hcral import EATSSAssigner, extra_positives

register_all_modules(init_default_scope=True)


def grid_priors(size=64, stride=4, box=8):
    c = torch.arange(stride / 2, size, stride)
    cy, cx = torch.meshgrid(c, c, indexing="ij")
    cx, cy = cx.reshape(-1), cy.reshape(-1)
    return torch.stack([cx - box / 2, cy - box / 2, cx + box / 2, cy + box / 2], 1)


def test_extra_positives_rank_by_iou_and_distance_within_dis_f():
    # GT (0,0,20,20), centre (10,10). ATSS positives: A (IoU 1, distance 0) and B (distance
    # 4): Dis_f = 4. Free candidates inside the box within 4: C (IoU 0.64, distance 2: rank
    # 0.64 - 2/4 = 0.14) and D (IoU 64/400 = 0.16, distance 3: rank -0.59). E is 6 away,
    # F's centre lies outside the box.
    def sq(cx, cy, s):
        return [cx - s / 2, cy - s / 2, cx + s / 2, cy + s / 2]
    priors = torch.tensor([sq(10, 10, 20), sq(14, 10, 8), sq(12, 10, 16), sq(10, 13, 8),
                           sq(10, 16, 8), sq(30, 10, 8)])
    gt = torch.tensor([[0.0, 0.0, 20.0, 20.0]])
    gt_inds = torch.tensor([1, 1, 0, 0, 0, 0])
    assert extra_positives(priors, gt, gt_inds, 1)[0].tolist() == [2]
    assert extra_positives(priors, gt, gt_inds, 2)[0].tolist() == [2, 3]
    assert extra_positives(priors, gt, gt_inds, 5)[0].tolist() == [2, 3]  # only two qualify
    assert extra_positives(priors, gt, torch.zeros(6, dtype=torch.long), 3)[0].numel() == 0


@pytest.mark.parametrize("l,extra", [(1, 1), (2, 2), (3, 3), (5, 3)])
def test_eatss_adds_exactly_l_positives_per_gt_where_candidates_exist(l, extra):  # noqa: E741
    priors = grid_priors()
    # A: 24 x 24 around (16, 16): ATSS takes the 9 nearest centres (equal IoUs: all pass):
    # the 4 at distance sqrt(8) and 5 of the 8 at sqrt(40) = Dis_f; the other 3 at Dis_f
    # are the candidates (l = 5 gets those 3).
    # B: 2 x 2 between the centres (50 and 54): no prior centre inside, no ATSS positive,
    # so nothing to add.
    gt = InstanceData(bboxes=torch.tensor([[4.0, 4.0, 28.0, 28.0], [51.0, 51.0, 53.0, 53.0]]),
                      labels=torch.tensor([0, 1]))
    pred = InstanceData(priors=priors)
    atss = hcral.ATSSAssigner(topk=9).assign(pred, [len(priors)], gt)
    eatss = EATSSAssigner(topk=9, l=l).assign(pred, [len(priors)], gt)
    for g, n in ((1, extra), (2, 0)):
        assert (eatss.gt_inds == g).sum() - (atss.gt_inds == g).sum() == n
    assert (atss.gt_inds == 1).sum() == 9 and (atss.gt_inds == 2).sum() == 0
    added = (eatss.gt_inds == 1) & (atss.gt_inds != 1)
    assert (eatss.labels[added] == 0).all() and (eatss.max_overlaps[added] > 0).all()
    # l = 0 is plain ATSS
    plain = EATSSAssigner(topk=9, l=0).assign(pred, [len(priors)], gt)
    assert torch.equal(plain.gt_inds, atss.gt_inds)


HEADS = {
    "HCRALRetinaHead": dict(
        anchor_generator=dict(type="AnchorGenerator", octave_base_scale=4, scales_per_octave=3,
                              ratios=[0.5, 1.0, 2.0], strides=[8, 16]),
        bbox_coder=dict(type="DeltaXYWHBBoxCoder", target_means=[0.0] * 4,
                        target_stds=[1.0] * 4),
        train_cfg=dict(assigner=dict(type="MaxIoUAssigner", pos_iou_thr=0.5, neg_iou_thr=0.4,
                                     min_pos_iou=0, ignore_iof_thr=-1),
                       sampler=dict(type="PseudoSampler"), allowed_border=-1, pos_weight=-1,
                       debug=False)),
    "HCRALATSSHead": dict(
        anchor_generator=dict(type="AnchorGenerator", ratios=[1.0], octave_base_scale=8,
                              scales_per_octave=1, strides=[8, 16]),
        bbox_coder=dict(type="DeltaXYWHBBoxCoder", target_means=[0.0] * 4,
                        target_stds=[0.1, 0.1, 0.2, 0.2]),
        train_cfg=dict(assigner=dict(type="EATSSAssigner", topk=9, l=3), allowed_border=-1,
                       pos_weight=-1, debug=False)),
    "HCRALVFNetHead": dict(
        strides=[8, 16], stacked_convs=1, use_atss=True, use_vfl=False,
        loss_cls_fl=dict(type="HCRACLoss"),  # what VFNetHead builds when use_vfl is False
        anchor_generator=dict(type="AnchorGenerator", ratios=[1.0], octave_base_scale=8,
                              scales_per_octave=1, center_offset=0.0, strides=[8, 16]),
        loss_bbox_refine=dict(type="GIoULoss", loss_weight=2.0),
        train_cfg=dict(assigner=dict(type="EATSSAssigner", topk=9, l=3), allowed_border=-1,
                       pos_weight=-1, debug=False)),
}


@pytest.mark.parametrize("head_type", list(HEADS))
def test_hcral_heads_give_hcrac_ious_and_hcrar_scores(head_type, monkeypatch):
    from mmdet.registry import MODELS
    from mmdet.structures import DetDataSample

    seen = {"labels": [], "ious": [], "scores": []}  # per FPN level (Retina, ATSS) or once
    hcrac_loss, hcrar_loss = losses.hcrac_loss, losses.hcrar_loss

    def spy_cls(logits, labels, ious, *a, **k):
        seen["labels"].append(labels)
        seen["ious"].append(ious)
        return hcrac_loss(logits, labels, ious, *a, **k)

    def spy_reg(pred, target, scores, *a, **k):
        seen["scores"].append(scores)
        return hcrar_loss(pred, target, scores, *a, **k)

    monkeypatch.setattr(losses, "hcrac_loss", spy_cls)
    monkeypatch.setattr(losses, "hcrar_loss", spy_reg)
    torch.manual_seed(0)
    cfg = dict(type=head_type, num_classes=3, in_channels=32, feat_channels=32,
               loss_cls=dict(type="HCRACLoss"), loss_bbox=dict(type="HCRARLoss"),
               reg_decoded_bbox=True, **HEADS[head_type])
    if head_type == "HCRALVFNetHead":
        cfg.pop("reg_decoded_bbox")
    head = MODELS.build(cfg)
    feats = (torch.randn(1, 32, 8, 8), torch.randn(1, 32, 4, 4))
    sample = DetDataSample(metainfo=dict(img_shape=(64, 64), pad_shape=(64, 64),
                                         batch_input_shape=(64, 64)))
    sample.gt_instances = InstanceData(bboxes=torch.tensor([[6.0, 8.0, 54.0, 58.0]]),
                                       labels=torch.tensor([1]))
    out = head.loss(feats, [sample])
    assert all(torch.isfinite(sum(v) if isinstance(v, list) else v).all() for v in out.values())
    labels, ious = torch.cat(seen["labels"]), torch.cat(seen["ious"])
    pos = labels < 3
    assert pos.any() and (ious[pos] > 0).all() and (ious[~pos] == 0).all()
    scores = torch.cat(seen["scores"])
    assert len(scores) >= pos.sum() and (scores >= 0).all() and (scores <= 1).all()
    assert (scores > 0).sum() == pos.sum()  # the target class's score, 0 off the positives


@pytest.mark.parametrize("head_type", ["HCRALRetinaHead", "HCRALATSSHead"])
def test_dr_loss_ranks_every_fpn_level_together(head_type, monkeypatch):
    from mmdet.registry import MODELS
    from mmdet.structures import DetDataSample

    calls = []
    dr_loss = losses.dr_loss

    def spy(logits, labels, *a, **k):
        calls.append(len(labels))
        return dr_loss(logits, labels, *a, **k)

    monkeypatch.setattr(losses, "dr_loss", spy)
    torch.manual_seed(0)
    cfg = dict(type=head_type, num_classes=3, in_channels=32, feat_channels=32,
               loss_cls=dict(type="DRLoss"), loss_bbox=dict(type="GIoULoss"),
               reg_decoded_bbox=True, **HEADS[head_type])
    head = MODELS.build(cfg)
    sample = DetDataSample(metainfo=dict(img_shape=(64, 64), pad_shape=(64, 64),
                                         batch_input_shape=(64, 64)))
    sample.gt_instances = InstanceData(bboxes=torch.tensor([[6.0, 8.0, 54.0, 58.0]]),
                                       labels=torch.tensor([1]))
    out = head.loss((torch.randn(1, 32, 8, 8), torch.randn(1, 32, 4, 4)), [sample])
    per_location = 9 if head_type == "HCRALRetinaHead" else 1
    assert calls == [(64 + 16) * per_location]  # one call over both levels' anchors
    assert len(out["loss_cls"]) == 1 and torch.isfinite(out["loss_cls"][0])
