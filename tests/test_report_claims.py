"""Claims as data: each kind's verdict on cells built to make it hold, fail, or lack data."""
import pytest

from claim_helpers import cells, grid, verdict
from repro.core.errors import ReproError
from repro.report.claims import evaluate, load_claims, parse_claims
from repro.report.evidence import reproduced_source
from repro.table.spec import TableSpec, load_table

CLS, REG = "balancer.cls_weight", "balancer.reg_weight"


@pytest.fixture(scope="module")
def spec():
    """Four weight rows (base (1,1); r1, r3 with reg > cls) x columns a1, a2 | b1, b2."""
    weights = {"base": (1.0, 1.0), "r1": (0.5, 1.0), "r2": (1.0, 0.5), "r3": (0.25, 0.5)}
    return TableSpec.from_mapping("t", {
        "id": "t", "paper_values": "deltas",
        "columns": [{"id": c, "group": c[0].upper()} for c in ("a1", "a2", "b1", "b2")],
        "rows": [{"id": k, "set": {CLS: c, REG: r}, "baseline": k == "base",
                  "paper": [50.0] * 4 if k == "base" else [0.0] * 4}
                 for k, (c, r) in weights.items()]})


BEAT = {"kind": "rows_beat_baseline", "rows": {"gt": [REG, CLS]}, "columns": {"group": "A"}}


def test_rows_beat_baseline(spec):
    v, numbers = verdict(spec, BEAT, grid(["a1", "a2"], base=50, r1=52, r3=51.5, r2=40))
    assert v == "holds" and "mean Δ to base +1.75 ±" in numbers and "4/4 cells" in numbers
    assert verdict(spec, BEAT, grid(["a1", "a2"], base=50, r1=49, r3=48))[0] == "does not hold"
    # one of the four claimed cells has a number: below min_done (half)
    assert verdict(spec, BEAT, {("base", "a1"): 50, ("r1", "a1"): 52})[0] == "not enough data"
    # a claimed cell diverged: not improved
    v, numbers = verdict(spec, BEAT, {**grid(["a1", "a2"], base=50, r1=52, r3=52),
                                      ("r3", "a2"): "nan"})
    assert v == "does not hold" and "diverged" in numbers


def test_right_sign_within_the_seed_spread_is_inconclusive(spec):
    # +0.3 on average, but with a seed std of 1.0 over 3 seeds the SE of that mean is 0.5:
    # within the noise, so neither "holds" nor "does not hold" (issue 11).
    values = grid(["a1", "a2"], base=50.0, r1=50.3, r3=50.3)
    v, numbers = verdict(spec, BEAT, values, sd=1.0, n=3)
    assert v == "inconclusive: within noise" and "+0.30 ± 0.50" in numbers
    assert "seed noise σ 1.00" in numbers
    # the opposite sign within the same noise is no contradiction either
    lower = grid(["a1", "a2"], base=50.0, r1=49.7, r3=49.7)
    assert verdict(spec, BEAT, lower, sd=1.0, n=3)[0] == "inconclusive: within noise"
    assert verdict(spec, BEAT, values, sd=0.1, n=3)[0] == "holds"  # same means, tight seeds


def test_every_cell_takes_its_domains_noise(spec):
    # the noise is the pooled seed std (repro/report/noise.py); a cell's SE is it / sqrt(n)
    frame = cells({("base", "a1"): (50.0, 0.0, 1), ("r1", "a1"): (51.0, 2.0, 5),
                   ("r2", "a1"): (50.0, 1.0, 5)})
    src = reproduced_source(frame)
    sigma = ((4 * 4 + 4 * 1) / 8) ** 0.5
    assert src.get("base", "a1").se == pytest.approx(sigma)
    assert src.get("r1", "a1").se == pytest.approx(sigma / 5 ** 0.5)
    assert src.get("r1", "a1").dof == 8


def test_one_seed_everywhere_is_inconclusive_and_says_so(spec):
    v, numbers = verdict(spec, BEAT, grid(["a1", "a2"], base=50, r1=60, r3=60), n=1)
    assert v == "inconclusive: within noise" and "no noise estimate" in numbers


LESS = {"kind": "less_sensitive", "columns": {"group": "B"}, "than": {"group": "A"}}


def test_less_sensitive(spec):
    spread = {**grid(["a1", "a2"], base=50, r1=53, r2=46, r3=50),
              **grid(["b1", "b2"], base=50, r1=50.2, r2=49.9, r3=50.1)}
    v, numbers = verdict(spec, LESS, spread)
    assert v == "holds" and "std of Δ over 3 rows: B 0.15" in numbers and "A 3.51" in numbers
    flipped = {(r, {"a": "b", "b": "a"}[c[0]] + c[1]): x for (r, c), x in spread.items()}
    assert verdict(spec, LESS, flipped)[0] == "does not hold"
    v, numbers = verdict(spec, {**LESS, "statistic": "max_gain"}, spread)
    assert v == "holds" and "best Δ" in numbers and "B +0.20" in numbers
    two_rows = {k: x for k, x in spread.items() if not (k[0] == "r3" and k[1][0] == "b")}
    assert verdict(spec, LESS, two_rows)[0] == "not enough data"  # a std needs 3 rows


def test_less_sensitive_within_the_seed_spread(spec):
    values = {**grid(["a1", "a2"], base=50, r1=50.6, r2=49.4, r3=50),
              **grid(["b1", "b2"], base=50, r1=50.5, r2=49.5, r3=50)}
    assert verdict(spec, LESS, values, sd=0.05)[0] == "holds"
    assert verdict(spec, LESS, values, sd=1.5, n=2)[0] == "inconclusive: within noise"


EVERY = {"kind": "improves_every_baseline", "rows": {"ids": ["r1"]}}


def test_improves_every_baseline(spec):
    cols = ["a1", "a2", "b1", "b2"]
    v, numbers = verdict(spec, EVERY, grid(cols, base=50, r1=51))
    assert v == "holds" and "all 4 comparisons" in numbers
    worse = {**grid(cols, base=50, r1=51), ("r1", "b2"): 49.5}
    v, numbers = verdict(spec, EVERY, worse)
    assert v == "does not hold" and "r1 vs base in b2: Δ -0.50" in numbers
    assert verdict(spec, EVERY, grid(cols[:3], base=50, r1=51))[0] == "not enough data"
    # a diverged baseline (ALWA Table 4's Guided Loss "nan") is beaten by any number
    assert verdict(spec, EVERY, {**grid(cols, base=50, r1=51), ("base", "a1"): "nan"})[0] == "holds"
    v, numbers = verdict(spec, EVERY, grid(cols, base=50, r1=50.1), sd=1.0)
    assert v == "inconclusive: within noise" and "0 better, 4 within noise, 0 worse" in numbers


BEST = {"kind": "best_in_every_column", "rows": {"ids": ["r1"]}, "columns": {"group": "A"}}


def test_best_in_every_column(spec):
    v, _ = verdict(spec, BEST, grid(["a1", "a2"], base=50, r1=52, r2=51, r3=49))
    assert v == "holds"
    v, numbers = verdict(spec, BEST, {**grid(["a1", "a2"], base=50, r1=52, r2=51, r3=49),
                                      ("r2", "a2"): 53})
    assert v == "does not hold" and "r1 vs r2 in a2" in numbers
    partial = {k: x for k, x in grid(["a1", "a2"], base=50, r1=52, r2=51, r3=49).items()
               if k != ("r1", "a2")}
    assert verdict(spec, BEST, partial)[0] == "not enough data"


@pytest.fixture(scope="module")
def table6():
    """ALWA Table 6's shape: one row per update interval C."""
    return TableSpec.from_mapping("t6", {
        "id": "t6", "row_id": "C{balancer.interval}", "columns": [{"id": "voc"}],
        "rows": [{"set": {"balancer.interval": c}, "paper": [75.0]} for c in (20, 100, 200, 500)]})


INSENSITIVE = {"kind": "insensitive_to", "tolerance": 0.5,
               "rows": {"between": {"balancer.interval": [100, 500]}}}


def test_insensitive_to(table6):
    def values(*xs):
        return {(f"C{c}", "voc"): x for c, x in zip((20, 100, 200, 500), xs)}
    v, numbers = verdict(table6, INSENSITIVE, values(60.0, 70.1, 70.3, 70.0), sd=0.05)
    assert v == "holds" and "widest spread 0.30" in numbers  # C=20 is not in [100, 500]
    assert verdict(table6, INSENSITIVE, values(70, 70, 71, 70))[0] == "does not hold"
    assert verdict(table6, INSENSITIVE, values(70.0, 70.1, 70.3, 70.0),
                   sd=0.5)[0] == "inconclusive: within noise"
    assert verdict(table6, INSENSITIVE, {("C100", "voc"): 70.0})[0] == "not enough data"


def test_mean_gain_at_least(spec):
    claim = {"kind": "mean_gain_at_least", "at_least": 1.0, "rows": {"ids": ["r1"]}}
    cols = ["a1", "a2", "b1", "b2"]
    assert verdict(spec, claim, grid(cols, base=50, r1=51.5))[0] == "holds"
    assert verdict(spec, claim, grid(cols, base=50, r1=50.8))[0] == "does not hold"


def test_table1_claims_hold_on_the_papers_own_numbers():
    spec = load_table("1")
    claims = load_claims(spec)
    assert {c.kind for c in claims} >= {"rows_beat_baseline", "less_sensitive"}
    result = evaluate(spec, claims, cells({}))
    assert list(result.paper) == ["holds"] * len(claims)
    assert set(result.reproduced) == {"not enough data"}
    beat = result.set_index("claim").loc["reg_gt_cls_beats_baseline"]
    assert "+0.28 over 36/36 cells (9 rows × 4 columns)" in beat.paper_numbers


@pytest.mark.parametrize("claim, needle", [
    ({"kind": "no_such_kind"}, "unknown kind 'no_such_kind'"),
    ({"kind": "insensitive_to", "rows": {"ids": ["r1"]}}, "missing ['tolerance']"),
    ({"kind": "rows_beat_baseline", "colums": "all"}, "unknown ['colums']"),
    ({"kind": "rows_beat_baseline", "rows": {"ids": ["zz"]}}, "match no row"),
    ({"kind": "rows_beat_baseline", "columns": {"group": "C"}}, "match no column"),
    ({"kind": "less_sensitive", "columns": ["a1"], "than": ["b9"]}, "unknown columns ['b9']"),
    ({"kind": "less_sensitive", "columns": ["a1"], "than": ["b1"], "statistic": "iqr"},
     "statistic must be one of"),
    ({"kind": "rows_beat_baseline", "min_done": 2}, "min_done"),
])
def test_bad_claims_are_refused_by_name(spec, claim, needle):
    with pytest.raises(ReproError, match="t.yaml, claim c") as e:
        parse_claims(spec, [{"id": "c", "text": "t", **claim}])
    assert needle in str(e.value)
