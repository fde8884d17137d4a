"""ALWA as released (repro.balancers.alwa): alpha trajectories on hand-built sequences."""
import math
import random
import statistics

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from balancer_helpers import t, run, nosync
from repro.balancers import ALWA


def test_nosync_detects_host_reads():
    x = nosync() * 2
    for read in (float, bool, lambda v: v.item(), lambda v: torch.stack([v]).tolist()):
        with pytest.raises(AssertionError, match="host sync"):
            read(x)


# ---------------------------------------------------------------- ALWA


def test_alwa2_update_after_window_applies_from_next_call():
    b = ALWA(variant=2, interval=3, lambda0=1.0)
    out = run(b, [4, 6, 8], [1, 1.5, 2])
    # The 3rd call completes the window and is still weighted with alpha = 1.
    assert out == [(4, 1), (6, 1.5), (8, 2)]
    # std([4, 6, 8]) = 2, std([1, 1.5, 2]) = 0.5 (sample std) -> alpha = 0.5 / 2.
    assert statistics.stdev([4, 6, 8]) == 2 and statistics.stdev([1, 1.5, 2]) == 0.5
    assert b.alpha == 0.25 and isinstance(b.alpha, float)
    assert b.weights == {"cls": 0.25, "reg": 1.0}
    assert run(b, [10], [3]) == [(2.5, 3)]  # 4th call: the new alpha


def test_alwa_window_with_cls_not_above_reg_keeps_alpha():
    b = ALWA(variant=2, interval=3)
    run(b, [1, 1, 1], [1, 2, 3])  # std cls 0 <= std reg 1
    assert b.alpha == 1.0
    run(b, [1, 2, 3], [2, 3, 4])  # equal stds: not strictly greater
    assert b.alpha == 1.0
    assert b.window_cls == [] and b.window_reg == []


def test_alwa_alpha_is_replaced_not_multiplied():
    b = ALWA(variant=2, interval=3)
    run(b, [4, 6, 8], [1, 1.5, 2])
    assert b.alpha == 0.25
    # Recorded (weighted) cls values 0.25 * [4, 8, 12] = [1, 2, 3]: std 1; reg std 0.5.
    out = run(b, [4, 8, 12], [0, 0.5, 1])
    assert out == [(1, 0), (2, 0.5), (3, 1)]
    assert b.alpha == 0.5  # rose after the fall (multiplying would give 0.125)


def test_alwa1_uses_mean_plus_std():
    b = ALWA(variant=1, interval=3)
    run(b, [4, 6, 8], [1, 2, 3])
    # cls: mean 6 + std 2 = 8; reg: mean 2 + std 1 = 3 -> alpha = 3/8 (ALWA_2: 0.5).
    assert b.alpha == 0.375
    b2 = ALWA(variant=2, interval=3)
    run(b2, [4, 6, 8], [1, 2, 3])
    assert b2.alpha == 0.5


def test_alwa_lambda0_scales_both_and_the_recorded_values():
    b = ALWA(variant=1, interval=2, lambda0=2.0)
    assert run(b, [3, 5], [1, 1]) == [(6, 2), (10, 2)]
    # Windows hold weighted values: cls [6, 10] -> 8 + 2*sqrt(2); reg [2, 2] -> 2.
    assert b.alpha == pytest.approx(2 / (8 + 2 * math.sqrt(2)), rel=1e-15)
    assert run(b, [3], [1]) == [(pytest.approx(3 * 2 * b.alpha, rel=1e-15), 2)]


def test_alwa_interval_one_treats_std_of_one_value_as_zero():
    b2 = ALWA(variant=2, interval=1)
    run(b2, [4, 1, 9], [1, 5, 2])
    assert b2.alpha == 1.0  # both stds are 0 every window
    b1 = ALWA(variant=1, interval=1)
    assert run(b1, [4], [1]) == [(4, 1)]
    assert b1.alpha == 0.25  # mean + 0 of one value: 1 / 4
    assert run(b1, [4], [2]) == [(1, 2)]  # recorded cls 1 <= reg 2: unchanged
    assert b1.alpha == 0.25
    assert run(b1, [16], [2]) == [(4, 2)]  # recorded 4 > 2 -> alpha = 2/4 (replaced)
    assert b1.alpha == 0.5


def test_alwa_interval_longer_than_run_keeps_alpha_one():
    b = ALWA(variant=2, interval=10)
    out = run(b, [9, 1, 7, 3, 5], [1, 1, 1, 1, 1])
    assert [c for c, _ in out] == [9, 1, 7, 3, 5] and b.alpha == 1.0
    assert len(b.window_cls) == 5


def _reference_alwa(variant, interval, lambda0, cls_seq, reg_seq):
    """Independent plain-Python ALWA: returns the alpha used by each call."""
    alpha, s_cls, s_reg, used = 1.0, [], [], []
    for c, r in zip(cls_seq, reg_seq):
        used.append(alpha)
        s_cls.append(alpha * lambda0 * c)
        s_reg.append(lambda0 * r)
        if len(s_cls) == interval:
            def stat(s):
                sd = statistics.stdev(s) if len(s) > 1 else 0.0
                return sd if variant == 2 else statistics.mean(s) + sd
            if stat(s_cls) > stat(s_reg):
                alpha = stat(s_reg) / stat(s_cls)
            s_cls, s_reg = [], []
    return used


@pytest.mark.parametrize("variant", [1, 2])
def test_alwa_matches_reference_on_random_sequence(variant):
    rng = random.Random(variant)
    cls_seq = [rng.uniform(0.1, 3) for _ in range(40)]
    reg_seq = [rng.uniform(0.1, 1) for _ in range(40)]
    b = ALWA(variant=variant, interval=4, lambda0=1.5)
    out = run(b, cls_seq, reg_seq)
    used = _reference_alwa(variant, 4, 1.5, cls_seq, reg_seq)
    assert len(set(used)) >= 3  # alpha moved at least twice
    for (oc, orr), a, c, r in zip(out, used, cls_seq, reg_seq):
        assert oc == pytest.approx(a * 1.5 * c, rel=1e-12)
        assert orr == 1.5 * r


def test_alwa_no_host_sync_inside_a_window():
    b = ALWA(variant=2, interval=4)
    for _ in range(3):
        b(nosync(2), nosync(1))
    assert all(isinstance(v, torch.Tensor) for v in b.window_cls)
    with pytest.raises(AssertionError, match="host sync"):  # the update reads once
        b(nosync(2), nosync(1))


# One window of C = 3 per rank, with different losses: std(cls) 2 and 1, std(reg) 0.5 on
# both. Per process (the released code): alpha 0.5/2 = 0.25 on rank 0, 0.5/1 = 0.5 on
# rank 1. Synced: the ranks' mean statistics, 0.5 / 1.5 = 1/3 on both.
RANK_LOSSES = {0: ([4, 6, 8], [1, 1.5, 2]), 1: ([1, 2, 3], [2, 2.5, 3])}


def _alwa_rank(rank: int, init: str, out) -> None:
    dist.init_process_group("gloo", init_method=init, rank=rank, world_size=2)
    try:
        alphas = []
        for sync in (True, False):
            b = ALWA(variant=2, interval=3, sync=sync)
            run(b, *RANK_LOSSES[rank])
            alphas.append(b.alpha)
        out.put((rank, *alphas))
    finally:
        dist.destroy_process_group()


def test_alwa_sync_averages_the_window_statistics_over_two_ranks(tmp_path):
    ctx = mp.get_context("spawn")
    out = ctx.Queue()
    init = f"file://{tmp_path / 'rendezvous'}"
    procs = [ctx.Process(target=_alwa_rank, args=(r, init, out)) for r in range(2)]
    for p in procs:
        p.start()
    got = sorted(out.get(timeout=120) for _ in procs)
    for p in procs:
        p.join(timeout=60)
    (_, synced0, own0), (_, synced1, own1) = got
    assert synced0 == synced1 == pytest.approx(0.5 / 1.5)  # every rank holds one alpha
    assert (own0, own1) == (0.25, 0.5)  # sync=false: one alpha per process, as released


def test_alwa_gradient_flows_through_losses_not_alpha():
    b = ALWA(variant=2, interval=3)
    run(b, [4, 6, 8], [1, 1.5, 2])
    c, r = t(5, grad=True), t(2, grad=True)
    oc, orr = b(c, r)
    assert torch.autograd.grad(oc, c)[0] == 0.25
    assert torch.autograd.grad(orr, r)[0] == 1.0


@pytest.mark.parametrize("kwargs", [
    {"variant": 3}, {"variant": 0}, {"variant": True}, {"variant": 2.0},
    {"interval": 0}, {"interval": -5}, {"interval": 2.5}, {"interval": True},
    {"lambda0": 0}, {"lambda0": -1.0}, {"lambda0": float("nan")}, {"lambda0": "1"},
])
def test_alwa_bad_parameters(kwargs):
    with pytest.raises(ValueError):
        ALWA(**kwargs)


def test_alwa1_trajectory_fall_hold_rise_fall_and_a_partial_window():
    """ALWA_1, C = 3, alpha over four windows: a fall, a window with cls <= reg (held),
    a rise after the fall (replaced, not multiplied), a second fall; then a partial
    window that changes nothing."""
    b = ALWA(variant=1, interval=3)
    windows = [  # raw cls, raw reg, alpha used by the window's calls, alpha after it
        ([4, 6, 8], [1, 2, 3], 1.0, 3 / 8),        # cls 6 + 2 = 8 > reg 2 + 1 = 3
        ([8, 8, 8], [3, 4, 5], 3 / 8, 3 / 8),      # recorded 3, 3, 3: 3 + 0 <= 4 + 1
        ([8, 16, 24], [4, 6, 8], 3 / 8, 8 / 9),    # recorded 3, 6, 9: 6 + 3 = 9 > 8
        ([9, 9, 9], [1, 1, 1], 8 / 9, 1 / 8),      # recorded 8, 8, 8: 8 > 1
    ]
    trajectory = []
    for cls_seq, reg_seq, used, after in windows:
        out = run(b, cls_seq, reg_seq)
        assert [c for c, _ in out] == pytest.approx([used * c for c in cls_seq], rel=1e-12)
        assert [r for _, r in out] == reg_seq
        trajectory.append(b.alpha)
        assert b.window_cls == [] and b.window_reg == []
    assert trajectory == pytest.approx([3 / 8, 3 / 8, 8 / 9, 1 / 8], rel=1e-12)
    run(b, [100, 1], [1, 100])  # two calls of the next window: no update yet
    assert b.alpha == pytest.approx(1 / 8, rel=1e-12) and len(b.window_cls) == 2


@pytest.mark.parametrize("variant", [1, 2])
def test_alwa_both_variants_keep_alpha_one_when_the_interval_exceeds_the_run(variant):
    b = ALWA(variant=variant, interval=8)
    out = run(b, [9, 1, 7, 3, 5, 2, 6], [0.1] * 7)
    assert [c for c, _ in out] == [9, 1, 7, 3, 5, 2, 6] and b.alpha == 1.0
    assert len(b.window_cls) == 7  # one call short of the first update
    run(b, [4], [0.1])
    assert b.alpha < 1.0  # the 8th call completes the window: cls dominates either way
