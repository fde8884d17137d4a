"""The other balancer rules and every rule's state dict: exact values on known sequences."""
import io
import math

import pytest
import torch

from balancer_helpers import t, run, nosync
from repro.balancers import (ALWA, DTP, DWA, BalancerOverflow, GuidedLoss, Static,
                             UncertaintyWeighting)


# ---------------------------------------------------------------- state dicts


def _dtp_call(b, i, c, r):
    return b(c, r, cls_kpi=0.1 * (i % 7), reg_kpi=None if i % 3 == 0 else 0.9 - 0.05 * i)


FACTORIES = {
    "alwa": (lambda: ALWA(variant=2, interval=3, lambda0=1.3), None),
    "static": (lambda: Static(0.7, 1.1), None),
    "guided_per_iter": (lambda: GuidedLoss(scale=2.0), None),
    "guided_frozen": (lambda: GuidedLoss(mode="warmup_frozen", warmup=7), None),
    "dwa": (lambda: DWA(period=2), None),
    "dtp": (lambda: DTP(gamma=2.0, momentum=0.8), _dtp_call),
    "uncertainty": (lambda: UncertaintyWeighting(0.3), None),
}


def _trajectory(b, call, start, stop, losses):
    # A rule of learned weights is trained too (plain SGD: no optimiser state), so its
    # parameters, its state, change call by call like everyone else's.
    step = torch.optim.SGD(b.parameters(), lr=0.1) if b.learned else None
    out = []
    for i in range(start, stop):
        c, r = losses[i]
        res = call(b, i, c, r) if call else b(c, r)
        out.append((res[0].detach(), res[1].detach(), b.weights))
        if step is not None:
            step.zero_grad()
            (res[0] + res[1]).backward()
            step.step()
    return out


def _same(a: dict, b: dict) -> bool:
    if set(a) != set(b):
        return False
    for k in a:
        x, y = a[k], b[k]
        if isinstance(x, torch.Tensor) or isinstance(y, torch.Tensor):
            if not (isinstance(x, torch.Tensor) and isinstance(y, torch.Tensor)
                    and torch.equal(x, y)):
                return False
        elif isinstance(x, list):
            if len(x) != len(y) or not _same(dict(enumerate(x)), dict(enumerate(y))):
                return False
        elif x != y:
            return False
    return True


@pytest.mark.parametrize("name", sorted(FACTORIES))
def test_state_dict_round_trip_is_bit_exact(name):
    make, call = FACTORIES[name]
    g = torch.Generator().manual_seed(0)
    losses = [tuple(torch.rand((2,), generator=g) + 0.5) for _ in range(10)]
    whole = _trajectory(make(), call, 0, 10, losses)

    first = make()
    head = _trajectory(first, call, 0, 5, losses)
    state = first.state_dict()
    if name == "static":  # no state beyond its settings: the round trip carries those
        assert state == {"config": {"cls_weight": 0.7, "reg_weight": 1.1}}
        with pytest.raises(ValueError, match="settings"):
            Static(0.7, 1.0).load_state_dict(state)
    else:  # the resumed rule must get the changed state, not a fresh one's
        assert not _same(state, make().state_dict()), f"{name}: state unchanged in 5 calls"
    buf = io.BytesIO()
    torch.save(state, buf)
    buf.seek(0)
    resumed = make()
    resumed.load_state_dict(torch.load(buf, weights_only=True))
    tail = _trajectory(resumed, call, 5, 10, losses)

    for (a_c, a_r, a_w), (b_c, b_r, b_w) in zip(whole, head + tail):
        assert torch.equal(a_c, b_c) and torch.equal(a_r, b_r)
        assert a_w == b_w or (math.isnan(a_w["cls"]) and math.isnan(b_w["cls"]))
    if name == "alwa":
        assert resumed.alpha != 1.0  # the run went through updates


def test_load_state_refuses_other_settings_and_keys():
    state = ALWA(variant=2, interval=3).state_dict()
    with pytest.raises(ValueError, match="settings"):
        ALWA(variant=2, interval=4).load_state_dict(state)
    with pytest.raises(KeyError):
        ALWA(variant=2, interval=3).load_state_dict({**state, "extra": 1})


# ---------------------------------------------------------------- Static


def test_static():
    b = Static(0.7, 1.0)
    c, r = t(2, grad=True), t(3, grad=True)
    oc, orr = b(c, r)
    assert oc.item() == 0.7 * 2 and orr.item() == 3.0
    assert torch.autograd.grad(oc, c)[0] == 0.7
    assert b.weights == {"cls": 0.7, "reg": 1.0}
    with pytest.raises(ValueError):
        Static(-1.0, 1.0)
    with pytest.raises(ValueError):
        Static(1.0, float("inf"))


# ---------------------------------------------------------------- GuidedLoss


def test_guided_loss_per_iter_weight_is_stopgrad_ratio():
    b = GuidedLoss()
    assert math.isnan(b.weights["cls"])  # undefined before the first call
    c, r = t(4, grad=True), t(2, grad=True)
    oc, orr = b(c, r)
    assert oc.item() == 2.0 and orr is r  # w = 2/4; reg weight 1
    # d(out_cls)/d(cls) == w exactly; no gradient reaches reg through w.
    assert torch.autograd.grad(oc, [c, r], allow_unused=True) == (0.5, None)
    assert b.weights == {"cls": 0.5, "reg": 1.0}
    assert float(b(t(1), t(3))[0]) == 3.0 and b.weights["cls"] == 3.0  # recomputed


def test_guided_loss_scale_applies_to_cls_weight():
    b = GuidedLoss(scale=2.0)
    c = t(4, grad=True)
    oc, orr = b(c, t(2))
    assert oc.item() == 4.0 and orr.item() == 2.0
    assert torch.autograd.grad(oc, c)[0] == 1.0  # 2 * (2/4)
    assert b.weights == {"cls": 1.0, "reg": 1.0}


def test_guided_loss_warmup_running_mean_then_frozen():
    b = GuidedLoss(mode="warmup_frozen", warmup=3)
    # Ratios reg/cls: 0.5, 0.25, 1.5 -> running means 0.5, 0.375, 0.75; then frozen.
    seen = []
    for c, r in [(4, 2), (4, 1), (2, 3), (1, 10), (5, 0.1)]:
        ct = t(c, grad=True)
        oc, _ = b(ct, t(r))
        seen.append(float(torch.autograd.grad(oc, ct)[0]))
    assert seen == [0.5, 0.375, 0.75, 0.75, 0.75]
    assert b.frozen and b.weights == {"cls": 0.75, "reg": 1.0}


def test_guided_loss_no_host_sync_per_call():
    for b in (GuidedLoss(), GuidedLoss(mode="warmup_frozen", warmup=2)):
        for _ in range(4):
            b(nosync(2), nosync(1))


@pytest.mark.parametrize("kwargs", [{"mode": "frozen"}, {"scale": 0}, {"warmup": 0},
                                    {"scale": -2.0}])
def test_guided_loss_bad_parameters(kwargs):
    with pytest.raises(ValueError):
        GuidedLoss(**kwargs)


# ---------------------------------------------------------------- DWA


def test_dwa_first_two_periods_one_then_softmax_of_descent_rates():
    b = DWA(period=2, temperature=2.0)
    # Period means: p0 cls 3, reg 1; p1 cls 1.5, reg 1 -> rates w = (0.5, 1.0).
    out = run(b, [2, 4, 1.5, 1.5], [1, 1, 2, 0], dtype=torch.float32)
    assert out == [(2, 1), (4, 1), (1.5, 2), (1.5, 0)]  # weights 1 through period 1
    e_cls, e_reg = math.exp(0.5 / 2), math.exp(1.0 / 2)
    lam = (2 * e_cls / (e_cls + e_reg), 2 * e_reg / (e_cls + e_reg))
    assert b.weights["cls"] == pytest.approx(lam[0], rel=1e-6)
    assert b.weights["reg"] == pytest.approx(lam[1], rel=1e-6)
    assert sum(b.weights.values()) == pytest.approx(2.0, rel=1e-6)
    c = t(3, torch.float32, grad=True)
    oc, orr = b(c, t(2, torch.float32))
    assert torch.autograd.grad(oc, c)[0] == pytest.approx(lam[0], rel=1e-6)
    assert orr.item() == pytest.approx(2 * lam[1], rel=1e-6)
    # p2 = (3, 2) then (1, 0): means cls 2, reg 1 -> rates vs p1: (2/1.5, 1/1).
    b(t(1, torch.float32), t(0, torch.float32))
    e_cls, e_reg = math.exp(2 / 1.5 / 2), math.exp(1.0 / 2)
    assert b.weights["cls"] == pytest.approx(2 * e_cls / (e_cls + e_reg), rel=1e-6)


def test_dwa_overflow_raises_in_loss_dtype():
    b = DWA(period=1, temperature=2.0)
    b(t(1, torch.float32), t(1, torch.float32))
    with pytest.raises(BalancerOverflow) as err:  # exp(1e4 / 2) = inf
        b(t(1e4, torch.float32), t(1, torch.float32))
    assert err.value.kind == "overflow" and isinstance(err.value, FloatingPointError)
    # exp(200 / 2) = 2.7e43 overflows float32 (the reference dtype) but not float64.
    f32 = DWA(period=1)
    f32(t(1, torch.float32), t(1, torch.float32))
    with pytest.raises(BalancerOverflow):
        f32(t(200, torch.float32), t(1, torch.float32))
    f64 = DWA(period=1)
    run(f64, [1, 200], [1, 1])
    assert f64.weights["cls"] == pytest.approx(2.0, rel=1e-12)


def test_dwa_no_host_sync_inside_a_period():
    b = DWA(period=2)
    for _ in range(3):  # closing period 0 needs no read: no weights before period 2
        b(nosync(2), nosync(1))
    with pytest.raises(AssertionError, match="host sync"):  # closing period 1 reads once
        b(nosync(2), nosync(1))


@pytest.mark.parametrize("kwargs", [{"period": 0}, {"period": 1.5},
                                    {"period": 2, "temperature": 0}])
def test_dwa_bad_parameters(kwargs):
    with pytest.raises(ValueError):
        DWA(**kwargs)


# ---------------------------------------------------------------- DTP


def focal(k, gamma):
    k = min(max(k, 1e-3), 1 - 1e-3)
    return -((1 - k) ** gamma) * math.log(k)


def test_dtp_known_kpi_sequence():
    b = DTP(gamma=1.0, momentum=0.9)
    assert b.weights == {"cls": 1.0, "reg": 1.0}  # no KPI seen yet
    # k_cls: 0.5 (first KPI), 0.9*0.5 + 0.1*0.7 = 0.52, kept 0.52.
    # k_reg: 0.8, kept 0.8, 0.9*0.8 + 0.1*0.6 = 0.78.
    kpis = [(0.5, 0.8), (0.7, None), (None, torch.tensor(0.6))]
    expected_k = [(0.5, 0.8), (0.9 * 0.5 + 0.1 * 0.7, 0.8),
                  (0.9 * 0.5 + 0.1 * 0.7, 0.9 * 0.8 + 0.1 * 0.6)]
    for (kc, kr), (ec, er) in zip(kpis, expected_k):
        c = t(2, grad=True)
        oc, orr = b(c, t(3), cls_kpi=kc, reg_kpi=kr)
        assert b.k_cls == pytest.approx(ec, rel=1e-15)
        assert b.k_reg == pytest.approx(er, rel=1e-7)  # 0.6 went through float32
        assert float(torch.autograd.grad(oc, c)[0]) == pytest.approx(focal(ec, 1.0))
        assert orr.item() == pytest.approx(3 * focal(er, 1.0), rel=1e-7)
    assert focal(0.5, 1.0) == pytest.approx(0.5 * math.log(2))


def test_dtp_clipping_and_gamma():
    b = DTP(gamma=2.0)
    b(t(1), t(1), cls_kpi=1.0, reg_kpi=0.0)
    assert b.weights["cls"] == pytest.approx(-(1e-3 ** 2) * math.log(1 - 1e-3))
    assert b.weights["reg"] == pytest.approx(-((1 - 1e-3) ** 2) * math.log(1e-3))
    assert b.weights["reg"] > b.weights["cls"] > 0  # the harder task gets more weight
    with pytest.raises(ValueError):
        b(t(1), t(1), cls_kpi=1.5)
    with pytest.raises(ValueError):
        b(t(1), t(1), reg_kpi=float("nan"))


@pytest.mark.parametrize("kwargs", [{"gamma": -1}, {"momentum": 1.0}, {"momentum": -0.1}])
def test_dtp_bad_parameters(kwargs):
    with pytest.raises(ValueError):
        DTP(**kwargs)


# ---------------------------------------------------------------- Uncertainty weighting


def test_uncertainty_weighting_value_and_gradients():
    b = UncertaintyWeighting()
    assert isinstance(b, torch.nn.Module) and len(list(b.parameters())) == 2
    assert b.weights == {"cls": 1.0, "reg": 1.0}
    c, r = t(3, torch.float32, grad=True), t(0.5, torch.float32, grad=True)
    oc, orr = b(c, r)
    assert oc.item() == 3.0 and orr.item() == 0.5  # exp(0) * L + 0
    (oc + orr).backward()
    # d/ds (exp(-s) L + s) = 1 - exp(-s) L at s = 0: 1 - 3 = -2 and 1 - 0.5 = 0.5.
    assert float(b.log_var_cls.grad) == -2.0 and float(b.log_var_reg.grad) == 0.5
    assert float(c.grad) == 1.0

    b2 = UncertaintyWeighting(init_log_var=0.5)
    oc, _ = b2(t(3, torch.float32), t(1, torch.float32))
    assert oc.item() == pytest.approx(math.exp(-0.5) * 3 + 0.5, rel=1e-6)
    assert b2.weights["cls"] == pytest.approx(math.exp(-0.5), rel=1e-6)
    with pytest.raises(ValueError):
        UncertaintyWeighting(float("nan"))


# ---------------------------------------------------------------- inputs


@pytest.mark.parametrize("make", [lambda: ALWA(), lambda: Static(), lambda: GuidedLoss(),
                                  lambda: DWA(period=2), lambda: DTP(),
                                  lambda: UncertaintyWeighting()])
def test_losses_must_be_single_element_tensors(make):
    with pytest.raises(ValueError):
        make()(1.0, t(1))
    with pytest.raises(ValueError):
        make()(t(1), torch.ones(3))
