"""The HCRAL paper's losses and its comparison losses (repro/losses), on boxes and scores
whose values are worked out by hand in the comments."""
import math

import pytest
import torch

from repro.losses import (RunningMean, adaptive_matrix, alpha_iou_loss, box_geometry, dr_loss,
                          eiou_loss, focal_eiou_loss, ghm_weights, hcrac_loss, hcrar_loss,
                          rci_reg)

T = lambda *rows: torch.tensor(rows, dtype=torch.float64)  # noqa: E731
SAME = (T([0, 0, 2, 2]), T([0, 0, 2, 2]))
# Disjoint: IoU 0, enclosing box (0,0,3,1) of area 3 and diagonal^2 10, union 2,
# centres 2 apart (rho^2 = 4), equal sizes.
APART = (T([0, 0, 1, 1]), T([2, 0, 3, 1]))
# Partial: intersection 1, union 4 + 6 - 1 = 9 (IoU 1/9), enclosing (0,0,4,3): area 12,
# diagonal^2 25; centres (1,1) and (2.5,2): rho^2 = 3.25; widths 2 vs 3, heights 2 vs 2.
PART = (T([0, 0, 2, 2]), T([1, 1, 4, 3]))


def test_geometry_of_the_partial_overlap():
    g = box_geometry(*PART)
    assert g.iou.item() == pytest.approx(1 / 9)
    assert g.giou.item() == pytest.approx(1 / 9 - 3 / 12)
    assert g.rho2.item() == pytest.approx(3.25) and g.c2.item() == pytest.approx(25)


@pytest.mark.parametrize("boxes,expected", [
    (SAME, 0.0), (APART, 1 + 4 / 10), (PART, 1 - 1 / 9 + 3.25 / 25 + 1 / 16)])
def test_eiou(boxes, expected):
    assert eiou_loss(*boxes).item() == pytest.approx(expected, abs=1e-6)


@pytest.mark.parametrize("boxes,expected", [
    (SAME, 0.0), (APART, 0.0), (PART, (1 / 9) ** 0.5 * (1 - 1 / 9 + 3.25 / 25 + 1 / 16))])
def test_focal_eiou_is_iou_to_gamma_times_eiou(boxes, expected):
    assert focal_eiou_loss(*boxes).item() == pytest.approx(expected, abs=1e-6)


@pytest.mark.parametrize("form,boxes,expected", [
    ("iou", SAME, 0.0), ("iou", APART, 1.0), ("iou", PART, 1 - (1 / 9) ** 3),
    ("giou", APART, 1 + (1 / 3) ** 3), ("giou", PART, 1 - (1 / 9) ** 3 + (3 / 12) ** 3),
    ("diou", APART, 1 + 0.4 ** 3), ("diou", PART, 1 - (1 / 9) ** 3 + (3.25 / 25) ** 3),
    ("ciou", APART, 1 + 0.4 ** 3)])  # equal aspect ratios: no CIoU v term
def test_alpha_iou(form, boxes, expected):
    assert alpha_iou_loss(*boxes, alpha=3, form=form).item() == pytest.approx(expected, abs=1e-6)


def test_weight_and_avg_factor_follow_mmdetections_conventions():
    pred, target = torch.cat([PART[0], APART[0]]), torch.cat([PART[1], APART[1]])
    each = eiou_loss(pred, target, reduction="none")
    assert each.tolist() == pytest.approx([1 - 1 / 9 + 3.25 / 25 + 1 / 16, 1.4])
    assert eiou_loss(pred, target, weight=torch.tensor([1.0, 0.0])).item() == \
        pytest.approx(each[0].item() / 2)
    assert eiou_loss(pred, target, avg_factor=4).item() == pytest.approx(each.sum().item() / 4)
    assert eiou_loss(pred, target, reduction="sum").item() == pytest.approx(each.sum().item())
    # (N, 4) box weights, as the anchor heads pass them, count per box
    w4 = torch.tensor([[1.0] * 4, [0.0] * 4])
    assert alpha_iou_loss(pred, target, weight=w4, reduction="sum").item() == \
        pytest.approx(1 - (1 / 9) ** 3)


def test_dr_loss_single_pair_and_the_papers_constants():
    # one positive, one negative entry, both logits 0: p+ = p- = 1/2, the softmaxes are
    # trivial, loss = tau / L * log(1 + exp(L * margin)) = 4/6 log(1 + e^3)
    logits = torch.zeros(2, 1, requires_grad=True)
    loss = dr_loss(logits, torch.tensor([0, 1]))
    assert loss.item() == pytest.approx(4 / 6 * math.log(1 + math.e ** 3))
    loss.backward()
    assert logits.grad[0, 0] < 0 < logits.grad[1, 0]  # raise the positive, lower the negative


def test_dr_loss_ranks_hard_negatives_first():
    # negatives with p = 0.9 and 0.1: q- = softmax(p / lambda-) puts almost all mass on
    # the hard one (lambda- = 0.1 / ln 3.5 ~ 0.08): E[p-] ~ 0.9; ignored entries drop out.
    logits = torch.tensor([[2.0], [math.log(9)], [-math.log(9)], [5.0]])
    labels, weight = torch.tensor([0, 1, 1, 1]), torch.tensor([1.0, 1.0, 1.0, 0.0])
    q = torch.softmax(torch.tensor([0.9, 0.1]) / (0.1 / math.log(3.5)), 0)
    neg = (q * torch.tensor([0.9, 0.1])).sum().item()
    pos = torch.sigmoid(torch.tensor(2.0)).item()
    expected = 4 / 6 * math.log(1 + math.exp(6 * (neg - pos + 0.5)))
    assert dr_loss(logits, labels, weight).item() == pytest.approx(expected, rel=1e-5)


def test_ghm_weights_are_inverse_bin_densities():
    # three entries, g = 0.5, 0.5, 0.1: two bins used; n = 3: w = 3 / (2 * 2), 3 / (1 * 2)
    prob, target = torch.tensor([0.5, 0.5, 0.9]), torch.tensor([1.0, 0.0, 1.0])
    w = ghm_weights(prob, target, torch.ones(3, dtype=torch.bool), bins=20)
    assert w.tolist() == pytest.approx([0.75, 0.75, 1.5])


def test_ghm_moving_average_of_bin_counts():
    # GHM-C's reference: acc <- m acc + (1 - m) count per non-empty bin, from acc = 0.
    # counts 2 (bin 10) and 1 (bin 2); m = 0.75: acc = 0.5, 0.25; w = 3 / (acc * 2 bins)
    prob, target = torch.tensor([0.5, 0.5, 0.9]), torch.tensor([1.0, 0.0, 1.0])
    acc = torch.zeros(20)
    w = ghm_weights(prob, target, torch.ones(3, dtype=torch.bool), 20, 0.75, acc)
    assert w.tolist() == pytest.approx([3.0, 3.0, 6.0])
    assert acc[10].item() == pytest.approx(0.5) and acc[2].item() == pytest.approx(0.25)
    assert acc.sum().item() == pytest.approx(0.75)  # empty bins keep their count
    w = ghm_weights(prob, target, torch.ones(3, dtype=torch.bool), 20, 0.75, acc)
    assert acc[10].item() == pytest.approx(0.875) and w[0].item() == pytest.approx(3 / 1.75)


def test_adaptive_matrix_branches():
    u, y = torch.tensor([1.0, 0.0, 0.5, 0.5]), torch.tensor([1.0, 1.0, 0.0, 1.0])
    assert adaptive_matrix(u, y, 0.7).tolist() == pytest.approx([1.0, 0.7, 0.7 ** 0.5, 0.7 ** 0.5])


def test_hcrac_on_hand_computed_scores():
    # C = 1: a positive (label 0) and a negative (label 1 = background), logits 0 (p = 1/2,
    # g = 1/2 for both: one bin, GHM weight 2 / (2 * 1) = 1); BCE = ln 2 each.
    logits = torch.zeros(2, 1, requires_grad=True)
    labels = torch.tensor([0, 1])
    # positive IoU 1/2 = its score: RCI = 1, A = 0.7^(1/2); negative: A = 0.7^0 = 1
    loss = hcrac_loss(logits, labels, torch.tensor([0.5, 0.0]), bins=20, pos_weight=5, decay=0.7)
    assert loss.item() == pytest.approx(math.log(2) * (0.7 ** 0.5 + 1) / 2)
    # positive IoU 0.7 above its score 0.5: RCI = exp(5 * 0.2), A = 0.7^0.3
    loss = hcrac_loss(logits, labels, torch.tensor([0.7, 0.0]))
    assert loss.item() == pytest.approx(math.log(2) * (0.7 ** 0.3 * math.e + 1) / 2)
    # rci=False: the "-" row of the paper's Table 6
    loss = hcrac_loss(logits, labels, torch.tensor([0.7, 0.0]), rci=False)
    assert loss.item() == pytest.approx(math.log(2) * (0.7 ** 0.3 + 1) / 2)
    loss.backward()
    assert torch.isfinite(logits.grad).all() and logits.grad[0, 0] < 0 < logits.grad[1, 0]


def test_hcrac_ignores_weight_zero_entries_and_sums():
    logits = torch.zeros(3, 1)
    labels, weight = torch.tensor([0, 1, 1]), torch.tensor([1.0, 1.0, 0.0])
    a = hcrac_loss(logits, labels, torch.tensor([0.5, 0.0, 0.0]), weight)
    b = hcrac_loss(logits[:2], labels[:2], torch.tensor([0.5, 0.0]))
    assert a.item() == pytest.approx(b.item())
    assert hcrac_loss(logits[:2], labels[:2], torch.tensor([0.5, 0.0]), reduction="sum").item() \
        == pytest.approx(2 * b.item())


def test_hcrar_values():
    assert hcrar_loss(*SAME, scores=T(0.9)).item() == pytest.approx(0.0, abs=1e-6)
    # partial overlap, no RCI: (1 - GIoU) (1 + 1.2 u (1 - u)) (1 + rho^2 / c^2)
    u, giou = 1 / 9, 1 / 9 - 1 / 4
    cf = (1 + 1.2 * u * (1 - u)) * (1 + 3.25 / 25)
    assert hcrar_loss(*PART, rci=False).item() == pytest.approx((1 - giou) * cf)
    assert hcrar_loss(*PART, rci=False, iou_factor=False).item() == \
        pytest.approx((1 - giou) * (1 + 3.25 / 25))
    # disjoint: u = 0, GIoU = -1/3, rho^2 / c^2 = 0.4
    assert hcrar_loss(*APART, rci=False).item() == pytest.approx((1 + 1 / 3) * 1.4)


def test_hcrar_rci_regions_and_running_mean():
    # region 1 (score above IoU + alpha) > 1, region 2 < 1; smaller ep -> larger in region 1
    assert rci_reg(T(0.8), T(0.5), -0.1, 0.001).item() == pytest.approx(0.801 / 0.401)
    assert rci_reg(T(0.2), T(0.9), -0.1, 0.001).item() == pytest.approx(0.201 / 0.801)
    assert rci_reg(T(0.8), T(0.05), -0.1, 0.001) > rci_reg(T(0.8), T(0.05), -0.1, 0.01)
    # two boxes: RCI r1, r2 divided by the EMA of their mean (a fresh EMA: the mean)
    pred, target = torch.cat([PART[0], SAME[0]]), torch.cat([PART[1], SAME[1]])
    scores = T(0.8, 0.3)
    r = rci_reg(scores, T(1 / 9, 1.0))
    ema = RunningMean(0.9)
    each = hcrar_loss(pred, target, scores, running_mean=ema, reduction="none")
    base = hcrar_loss(pred, target, rci=False, reduction="none")
    assert (each / base)[0].item() == pytest.approx((r[0] / r.mean()).item())
    assert ema.value == pytest.approx(r.mean().item())
    ema.update(1.0)
    assert ema.value == pytest.approx(0.9 * r.mean().item() + 0.1)


@pytest.mark.parametrize("fn", [eiou_loss, focal_eiou_loss, alpha_iou_loss,
                                lambda p, t: hcrar_loss(p, t, torch.rand(len(p)))])
def test_box_losses_have_finite_gradients(fn):
    torch.manual_seed(0)
    xy = torch.rand(16, 2) * 10
    pred = torch.cat([xy, xy + 1 + torch.rand(16, 2) * 5], 1)
    target = pred.detach().clone()
    target[4:8] += 20  # disjoint
    target[8:] += torch.rand(8, 4)  # partial
    pred.requires_grad_(True)
    loss = fn(pred, target)
    loss.backward()
    assert torch.isfinite(loss) and torch.isfinite(pred.grad).all() and pred.grad.abs().sum() > 0


@pytest.mark.parametrize("fn", [dr_loss, lambda x, y: hcrac_loss(x, y, torch.rand(len(y)))])
def test_classification_losses_have_finite_gradients(fn):
    torch.manual_seed(0)
    logits = (torch.randn(64, 5) * 8).requires_grad_(True)
    labels = torch.randint(0, 6, (64,))
    loss = fn(logits, labels)
    loss.backward()
    assert torch.isfinite(loss) and torch.isfinite(logits.grad).all()


def test_hcrac_of_a_diverged_score_is_nan_not_a_crash():
    from repro.losses.hcrac import ghm_weights

    prob = torch.tensor([[0.2, float("nan")], [0.9, 0.1]])
    target = torch.tensor([[0.0, 1.0], [1.0, 0.0]])
    w = ghm_weights(prob, target, torch.ones_like(prob, dtype=torch.bool))
    assert w.shape == prob.shape and torch.isfinite(w).all()
