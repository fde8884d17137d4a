"""DTP's KPIs: the pure maths on known boxes and scores, and the anchor-head tap on a
real MMDetection RPN head fed hand-built anchors, scores and targets."""
import math

import pytest
import torch

from repro.balancers import kpi

LN3 = math.log(3.0)


# ---------------------------------------------------------------- IoU


def test_aligned_iou_on_known_boxes():
    boxes = torch.tensor([[0., 0., 2., 2.], [0., 0., 1., 1.], [0., 0., 1., 1.],
                          [0., 0., 4., 2.], [3., 3., 3., 3.]])
    targets = torch.tensor([[1., 1., 3., 3.], [0., 0., 1., 1.], [2., 2., 3., 3.],
                            [0., 0., 2., 4.], [3., 3., 3., 3.]])
    # overlap 1 of union 7; identical; disjoint; 2x2 overlap of 8 + 8 - 4; two points
    assert kpi.aligned_iou(boxes, targets).tolist() == pytest.approx(
        [1 / 7, 1.0, 0.0, 4 / 12, 0.0], abs=1e-7)


def test_aligned_iou_is_one_value_per_pair_and_empty_when_no_pairs():
    assert kpi.aligned_iou(torch.zeros((0, 4)), torch.zeros((0, 4))).shape == (0,)


# ---------------------------------------------------------------- classification


def test_true_class_probability_sigmoid_positives_only():
    # 2 foreground classes; label 2 is background and does not count.
    scores = torch.tensor([[0.0, 5.0], [-1.0, LN3], [9.0, 9.0]])
    labels = torch.tensor([0, 1, 2])
    # sigmoid(0) = 1/2, sigmoid(ln 3) = 3/4
    assert kpi.true_class_probability(scores, labels, 2, use_sigmoid=True).tolist() == \
        pytest.approx([0.5, 0.75])


def test_true_class_probability_softmax_has_a_background_column():
    scores = torch.tensor([[0.0, 0.0, math.log(2.0)], [0.0, LN3, 0.0]])
    labels = torch.tensor([0, 1])
    # exp: (1, 1, 2) -> 1/4 for class 0; (1, 3, 1) -> 3/5 for class 1
    assert kpi.true_class_probability(scores, labels, 2, use_sigmoid=False).tolist() == \
        pytest.approx([0.25, 0.6])


def test_accuracy_counts_weighted_anchors_background_included():
    scores = torch.tensor([[LN3, -LN3],    # label 0, p(0) = 3/4: right
                           [LN3, -LN3],    # label 1, predicts 0: wrong
                           [-LN3, -LN3],   # background, best p = 1/4 < 1/2: right
                           [LN3, -LN3]])   # background but weight 0: not counted
    labels = torch.tensor([0, 1, 2, 2])
    weights = torch.tensor([1.0, 1.0, 1.0, 0.0])
    right = kpi.correct_predictions(scores, labels, weights, 2, use_sigmoid=True)
    assert right.tolist() == [1.0, 0.0, 1.0]
    assert kpi.correct_predictions(scores, labels, None, 2, True).tolist() == [1, 0, 1, 0]


def test_rpn_style_binary_accuracy_and_softmax_argmax():
    # RPN: one sigmoid column, label 0 = object, 1 = background; threshold 0.5.
    scores = torch.tensor([[0.1], [-0.1], [0.0], [-2.0]])
    labels = torch.tensor([0, 0, 1, 1])
    assert kpi.predicted_labels(scores, 1, True).tolist() == [0, 1, 0, 1]
    assert kpi.correct_predictions(scores, labels, None, 1, True).tolist() == [1, 0, 0, 1]
    soft = torch.tensor([[0.0, 1.0, 0.5], [2.0, 1.0, 3.0]])  # last column: background
    assert kpi.predicted_labels(soft, 2, False).tolist() == [1, 2]


def test_mean_or_none():
    assert kpi.mean_or_none(3.0, 4.0) == 0.75
    assert kpi.mean_or_none(0.0, 0.0) is None


# ---------------------------------------------------------------- the tap on a real head


def _rpn_head(reg_decoded_bbox=False):
    from mmdet.registry import MODELS
    from mmdet.utils import register_all_modules

    register_all_modules(init_default_scope=False)
    return MODELS.build(dict(
        type="RPNHead", in_channels=4, feat_channels=4, reg_decoded_bbox=reg_decoded_bbox,
        anchor_generator=dict(type="AnchorGenerator", scales=[1], ratios=[1.0], strides=[4]),
        bbox_coder=dict(type="DeltaXYWHBBoxCoder", target_means=[0.0] * 4,
                        target_stds=[1.0] * 4),
        loss_cls=dict(type="CrossEntropyLoss", use_sigmoid=True, loss_weight=1.0),
        loss_bbox=dict(type="L1Loss", loss_weight=1.0)))


def _level(head, decoded_targets):
    """One level, one image, a 1 x 3 feature map with one anchor per location:
    anchor 0 positive (gt (1, 1, 5, 5)), anchor 1 positive (gt = its own box), anchor 2
    negative. The predictions decode to the anchors themselves (zero deltas)."""
    anchors = torch.tensor([[[0., 0., 4., 4.], [4., 0., 8., 4.], [8., 0., 12., 4.]]])
    gts = torch.tensor([[[1., 1., 5., 5.], [4., 0., 8., 4.], [9., 1., 11., 3.]]])  # 3rd unused
    targets = gts if decoded_targets else head.bbox_coder.encode(anchors[0], gts[0])[None]
    cls_score = torch.tensor([2.0, -1.0, 1.0]).reshape(1, 1, 1, 3)  # p: .88, .27, .73
    bbox_pred = torch.zeros((1, 4, 1, 3))
    labels = torch.tensor([[0, 0, 1]])
    label_weights = torch.ones((1, 3))
    bbox_weights = torch.tensor([[[1.0] * 4, [1.0] * 4, [0.0] * 4]])
    return cls_score, bbox_pred, anchors, labels, label_weights, targets, bbox_weights


@pytest.mark.parametrize("decoded", [False, True])
def test_tap_reads_accuracy_and_mean_iou_of_decoded_positives(decoded):
    from repro.mmdet.head_kpi import HeadKPITap

    head = _rpn_head(reg_decoded_bbox=decoded)
    tap = HeadKPITap(head, "accuracy")
    args = _level(head, decoded)
    tap.reset()
    loss_cls, loss_bbox = head.loss_by_feat_single(*args, avg_factor=3)  # as mmdet calls it
    untapped = type(head).loss_by_feat_single(head, *args, avg_factor=3)
    assert torch.equal(loss_cls, untapped[0]) and torch.equal(loss_bbox, untapped[1])
    cls_kpi, reg_kpi = tap.read()
    # accuracy: anchor 0 right (.88 -> object), 1 wrong (.27 -> background), 2 wrong
    # (.73 -> object, is background); IoU: (0,0,4,4) vs (1,1,5,5) = 9/23, and 1.
    assert cls_kpi == pytest.approx(1 / 3)
    assert reg_kpi == pytest.approx((9 / 23 + 1.0) / 2, rel=1e-6)


def test_tap_true_prob_sums_over_levels_and_resets():
    from repro.mmdet.head_kpi import HeadKPITap

    head = _rpn_head()
    tap = HeadKPITap(head, "true_prob")
    args = _level(head, False)
    tap.reset()
    head.loss_by_feat_single(*args, avg_factor=3)
    # a second level, keywords in another order: only anchor 0 positive, a perfect box
    cls_score, bbox_pred, anchors, labels, lw, targets, bw = args
    head.loss_by_feat_single(bbox_weights=bw, avg_factor=3, labels=torch.tensor([[0, 1, 1]]),
                             anchors=anchors, cls_score=torch.zeros_like(cls_score),
                             bbox_pred=bbox_pred, label_weights=lw,
                             bbox_targets=torch.zeros_like(targets))
    cls_kpi, reg_kpi = tap.read()
    sig = lambda x: 1 / (1 + math.exp(-x))  # noqa: E731
    assert cls_kpi == pytest.approx((sig(2.0) + sig(-1.0) + 0.5) / 3, rel=1e-6)
    assert reg_kpi == pytest.approx((9 / 23 + 1.0 + 1.0) / 3, rel=1e-6)
    tap.reset()
    assert tap.read() == (None, None)  # nothing seen this iteration
    head.loss_by_feat_single(cls_score, bbox_pred, anchors, torch.tensor([[1, 1, 1]]), lw,
                             targets, bw, 3)
    assert tap.read() == (None, None)  # no positives: DTP keeps its k


def test_tap_refuses_heads_it_cannot_read():
    from repro.mmdet.head_kpi import HeadKPITap

    with pytest.raises(TypeError, match="loss_by_feat_single"):
        HeadKPITap(torch.nn.Linear(1, 1), "accuracy")
    with pytest.raises(ValueError, match="cls_kpi"):
        HeadKPITap(_rpn_head(), "recall")


def test_tap_reads_atss_whose_arguments_come_in_another_order():
    # ATSSHead.loss_by_feat_single(anchors, cls_score, bbox_pred, centerness, labels,
    # label_weights, bbox_targets, avg_factor), targets as boxes (reg_decoded_bbox).
    from mmdet.registry import MODELS

    from repro.mmdet.head_kpi import HeadKPITap

    _rpn_head()  # registers mmdet's modules
    head = MODELS.build(dict(
        type="ATSSHead", num_classes=1, in_channels=4, feat_channels=4, stacked_convs=1,
        norm_cfg=dict(type="GN", num_groups=1, requires_grad=True),
        anchor_generator=dict(type="AnchorGenerator", ratios=[1.0], octave_base_scale=1,
                              scales_per_octave=1, strides=[4]),
        bbox_coder=dict(type="DeltaXYWHBBoxCoder", target_means=[0.0] * 4,
                        target_stds=[1.0] * 4),
        loss_cls=dict(type="FocalLoss", use_sigmoid=True, gamma=2.0, alpha=0.25,
                      loss_weight=1.0),
        loss_bbox=dict(type="GIoULoss", loss_weight=2.0),
        loss_centerness=dict(type="CrossEntropyLoss", use_sigmoid=True, loss_weight=1.0)))
    tap = HeadKPITap(head, "true_prob")
    cls_score, bbox_pred, anchors, labels, lw, targets, _ = _level(head, decoded_targets=True)
    tap.reset()
    head.loss_by_feat_single(anchors, cls_score, bbox_pred, torch.zeros((1, 1, 1, 3)),
                             labels, lw, targets, 2.0)
    cls_kpi, reg_kpi = tap.read()
    sig = lambda x: 1 / (1 + math.exp(-x))  # noqa: E731
    assert cls_kpi == pytest.approx((sig(2.0) + sig(-1.0)) / 2, rel=1e-6)
    assert reg_kpi == pytest.approx((9 / 23 + 1.0) / 2, rel=1e-6)


def test_which_heads_the_tap_can_read():
    from mmdet.registry import MODELS

    from repro.mmdet.head_kpi import unreadable

    for readable in ("RPNHead", "RetinaHead", "ATSSHead"):
        assert unreadable(MODELS.get(readable)) is None, readable
    assert "has none" in unreadable(MODELS.get("FCOSHead"))  # anchor-free: one-piece loss
