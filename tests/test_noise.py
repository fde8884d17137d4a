"""Issue 11: every table knows its noise, and verdicts respect it.

Records are written by hand (the report reads only records), with values chosen so that
each number below can be recomputed on paper.
"""
import math

import pandas as pd
import pytest

from conftest import write_record
from repro.report import noise
from repro.report.claims import evaluate, parse_claims
from repro.report.collect import collect
from repro.report.build import write_table
from repro.report.cells import cell_table
from repro.sweep.expand import cell_seeds, expand
from repro.table.spec import load_table

BASE = "w1.00-1.00__voc_sgd_l1"
BASE_VALUES = [50.0, 51.0, 49.0, 52.0, 48.0]  # mean 50, sample std sqrt(10/4) = 1.5811
SIGMA = math.sqrt(10 / 4)


@pytest.fixture(scope="module")
def t1():
    return load_table("1")


def test_critical_values_are_students_t():
    assert noise.critical(4) == pytest.approx(2.776)
    assert noise.critical(1) == pytest.approx(12.706)
    assert noise.critical(40) == pytest.approx(2.021, abs=0.002)
    assert noise.critical(math.inf) == pytest.approx(1.96, abs=1e-4)
    assert noise.critical(0) == math.inf  # no degrees of freedom: nothing is significant


def _cells(t1, tmp_path, cells: dict):
    """{cell id: [value per seed 0..]} -> the report's cell table."""
    for cell, vals in cells.items():
        for seed, v in enumerate(vals):
            if v is not None:
                write_record(tmp_path, cell, seed, "done", value=v)
    frame = collect(t1, profile="smoke", sweeps_root=tmp_path)
    return cell_table(t1, frame).set_index(["row", "column"]), frame


def test_the_noise_is_the_reference_cells_seed_std(t1, tmp_path):
    cells, _ = _cells(t1, tmp_path, {BASE: BASE_VALUES, "w0.10-0.50__voc_sgd_l1": [54.0]})
    e = cells.loc[("w0.10-0.50", "voc_sgd_l1")]
    assert e.noise_sigma == pytest.approx(SIGMA) and e.noise_dof == 4
    # unpaired (one seed): delta to the reference mean, SE sigma * sqrt(1 + 1/5)
    assert e.reproduced_delta == pytest.approx(4.0)
    assert e.delta_se == pytest.approx(SIGMA * math.sqrt(1.2))
    assert not e.delta_paired
    # 4.0 < 2.776 * 1.732 = 4.81: within the noise
    assert e.significant == False  # noqa: E712 - numpy bool
    # another column has no reference seeds: no noise there, nothing significant
    other = cells.loc[("w1.00-1.00", "voc_sgd_ciou")]
    assert other.state == "missing" and pd.isna(other.noise_sigma)


def test_a_delta_beyond_the_noise_is_significant(t1, tmp_path):
    cells, _ = _cells(t1, tmp_path, {BASE: BASE_VALUES, "w0.10-0.50__voc_sgd_l1": [56.0]})
    assert cells.loc[("w0.10-0.50", "voc_sgd_l1")].significant == True  # noqa: E712


def test_deltas_are_paired_by_seed_where_seeds_are_shared(t1, tmp_path):
    # +2.0 at every seed (2.1, 1.9, 2.0): paired it is far outside the noise; unpaired
    # (mean 52.0 against 50.0, pooled sigma 1.40, SE 1.03, t(6) 2.447) it would not be.
    cells, _ = _cells(t1, tmp_path, {BASE: BASE_VALUES,
                                     "w0.10-0.50__voc_sgd_l1": [52.1, 52.9, 51.0]})
    e = cells.loc[("w0.10-0.50", "voc_sgd_l1")]
    assert e.delta_paired and e.reproduced_delta == pytest.approx(2.0)
    assert e.delta_se == pytest.approx(0.1 / math.sqrt(3)) and e.delta_dof == 2
    assert e.significant == True  # noqa: E712
    # the domain's sigma now pools both cells: (10 + 1.82) / (4 + 2)
    assert e.noise_sigma == pytest.approx(math.sqrt(11.82 / 6))
    unpaired = noise.delta({0: 52.1, 1: 52.9, 2: 51.0}, dict(enumerate(BASE_VALUES)),
                           noise.Noise(e.noise_sigma, 6, 2, 8), None)
    assert unpaired.value == pytest.approx(2.0) and unpaired.significant is False


def test_one_seed_and_no_noise_estimate_is_never_significant(t1, tmp_path):
    cells, _ = _cells(t1, tmp_path, {BASE: [50.0], "w0.10-0.50__voc_sgd_l1": [70.0]})
    e = cells.loc[("w0.10-0.50", "voc_sgd_l1")]
    assert e.reproduced_delta == pytest.approx(20.0) and pd.isna(e.delta_se)
    assert e.significant is None or pd.isna(e.significant)


def test_a_reference_whose_seeds_all_score_the_same_gives_no_noise_estimate(t1, tmp_path):
    # A smoke detector that learned nothing: 0.0 at all five seeds (HCRAL Table 9's
    # RetinaNet). A spread of zero would make the +0.5 below "outside the noise".
    cells, _ = _cells(t1, tmp_path, {BASE: [0.0] * 5, "w0.10-0.50__voc_sgd_l1": [0.5]})
    e = cells.loc[("w0.10-0.50", "voc_sgd_l1")]
    assert e.reproduced_delta == pytest.approx(0.5) and pd.isna(e.delta_se)
    assert e.significant is None or pd.isna(e.significant)
    domains = noise.estimate(t1, noise.seed_values(_))
    assert domains[BASE].sigma is None and "all scored the same" in domains[BASE].text()
    # Paired: the same difference at every shared seed is no spread either.
    cells, _ = _cells(t1, tmp_path / "paired", {BASE: [0.0] * 5,
                                                 "w0.10-0.50__voc_sgd_l1": [0.0] * 3})
    e = cells.loc[("w0.10-0.50", "voc_sgd_l1")]
    assert e.significant is None or pd.isna(e.significant)


# Claims on constructed records: a table of one column where rows with reg > cls beat the
# baseline (holds), lose to it (does not hold), or move within the noise (inconclusive).
CLAIM = {"id": "c", "text": "reg > cls improves", "kind": "rows_beat_baseline",
         "rows": {"gt": ["balancer.reg_weight", "balancer.cls_weight"]},
         "columns": ["voc_sgd_l1"]}
REG_GT_CLS = ["w0.10-0.50", "w0.10-0.75", "w0.25-0.50", "w0.25-0.75", "w0.50-0.75",
              "w0.75-1.00", "w1.00-1.25", "w1.25-1.50", "w1.50-2.00"]


def _claim_verdict(t1, tmp_path, shift: float, sd: float):
    vals = {BASE: [50.0 + sd * x for x in (0, 1, -1, 2, -2)]}
    vals.update({f"{r}__voc_sgd_l1": [50.0 + shift] for r in REG_GT_CLS})
    cells, _ = _cells(t1, tmp_path, vals)
    (claim,) = parse_claims(t1, [CLAIM])
    r = evaluate(t1, [claim], cells.reset_index()).iloc[0]
    return r.reproduced, r.numbers


def test_claim_holds_outside_the_noise(t1, tmp_path):
    # mean gain +3.0, SE = sigma * sqrt(1/9 * ... ): sigma 1.58/sqrt(1)/... -> well outside
    v, numbers = _claim_verdict(t1, tmp_path, shift=3.0, sd=0.5)
    assert v == "holds" and "+3.00" in numbers and "seed noise σ 0.79" in numbers


def test_claim_fails_outside_the_noise(t1, tmp_path):
    v, _ = _claim_verdict(t1, tmp_path, shift=-3.0, sd=0.5)
    assert v == "does not hold"


def test_claim_within_the_noise_is_inconclusive(t1, tmp_path):
    # the same +3.0, but the reference moves 5 points from seed to seed
    v, numbers = _claim_verdict(t1, tmp_path, shift=3.0, sd=5.0)
    assert v == "inconclusive: within noise" and "seed noise σ 7.91" in numbers


def test_claim_without_a_noise_estimate_is_inconclusive(t1, tmp_path):
    vals = {BASE: [50.0]} | {f"{r}__voc_sgd_l1": [60.0] for r in REG_GT_CLS}
    cells, _ = _cells(t1, tmp_path, vals)
    (claim,) = parse_claims(t1, [CLAIM])
    r = evaluate(t1, [claim], cells.reset_index()).iloc[0]
    assert r.reproduced == "inconclusive: within noise" and "no noise estimate" in r.numbers
    assert r.paper == "holds"  # the paper's own numbers are exact


def test_every_rendering_marks_the_significant_deltas(t1, tmp_path):
    vals = {BASE: BASE_VALUES, "w0.10-0.50__voc_sgd_l1": [56.0], "w0.10-0.75__voc_sgd_l1": [51.0]}
    for cell, vs in vals.items():
        for seed, v in enumerate(vs):
            write_record(tmp_path / "sweeps", cell, seed, "done", value=v)
    md, csv, tex, _ = write_table(t1, profile="smoke", sweeps_root=tmp_path / "sweeps",
                                  results_root=tmp_path / "results")
    text = md.read_text()
    assert "| (0.10,0.50) | +6.00* (paper +0.85) |" in text
    assert "| (0.10,0.75) | +1.00 (paper +0.97) |" in text
    assert "VOC SGD+L1 σ 1.58 (dof 4)" in text
    frame = pd.read_csv(csv).set_index(["row", "column"])
    assert frame.loc[("w0.10-0.50", "voc_sgd_l1")].significant == True  # noqa: E712
    assert frame.loc[("w0.10-0.75", "voc_sgd_l1")].significant == False  # noqa: E712
    assert frame.loc[("w0.10-0.50", "voc_sgd_l1")].noise_sigma == pytest.approx(SIGMA, abs=1e-4)
    latex = tex.read_text()
    assert "$+6.00$* (paper $+0.85$)" in latex and "$+1.00$ (paper $+0.97$)" in latex
    assert r"$\sigma$ 1.58" in latex


def test_reference_cells_run_noise_seeds(t1, tmp_path):
    per_cell = cell_seeds(t1, seeds=1, noise_seeds=5)
    assert per_cell[BASE] == [0, 1, 2, 3, 4] and per_cell["w0.10-0.50__voc_sgd_l1"] == [0]
    assert sum(len(s) for s in per_cell.values()) == 120 + 6 * 4
    per_cell = cell_seeds(t1, seeds=3, noise_seeds=5)
    assert per_cell[BASE] == [0, 1, 2, 3, 4] and per_cell["w0.10-0.50__voc_sgd_l1"] == [0, 1, 2]
    jobs = expand(t1, profile="smoke", sweeps_root=tmp_path, seeds=[7], noise_seeds=2)
    assert sorted(j.seed for j in jobs if j.cell.id == BASE) == [0, 1, 7]
    # Table 3 compares against its Initial column; Table 6 names its noise row
    t3 = load_table("3")
    assert {c.column.id for c in t3.noise_cells()} == {"initial"}
    t6 = load_table("6")
    assert {c.row.id for c in t6.noise_cells()} == {"l1.00"}


def test_noise_seeds_must_be_a_count(t1, tmp_path):
    from repro.core.errors import ReproError

    with pytest.raises(ReproError, match="noise_seeds=0: give a count >= 1"):
        cell_seeds(t1, seeds=1, noise_seeds=0)


def test_figures_mark_the_significant_deltas(t1, tmp_path):
    from repro.report.evidence import reproduced_source
    from repro.report.figures import _grid, plt
    from repro.report.bar_figure import _bar_panel

    cells, _ = _cells(t1, tmp_path, {BASE: BASE_VALUES, "w0.10-0.50__voc_sgd_l1": [56.0],
                                     "w0.10-0.75__voc_sgd_l1": [51.0]})
    src = reproduced_source(cells.reset_index())
    xs = sorted({r.set["balancer.cls_weight"] for r in t1.rows})
    ys = sorted({r.set["balancer.reg_weight"] for r in t1.rows})
    _, labels = _grid(t1, src, "voc_sgd_l1", xs, ys)
    assert labels[(ys.index(0.5), xs.index(0.1))] == "+6.00*"
    assert labels[(ys.index(0.75), xs.index(0.1))] == "+1.00"
    fig, ax = plt.subplots()
    _bar_panel(ax, {(0, 0): (6.0, 4.8, None), (0, 1): (1.0, 4.8, None)}, 2, ["r", "b"],
               True, marks={(0, 0)})
    assert sorted(t.get_text() for t in ax.texts) == ["+1.00", "+6.00*"]
    plt.close(fig)


def test_each_comparison_is_judged_by_its_own_references_noise(tmp_path):
    # ALWA Table 3: a quiet detector and a noisy one, both +5 with ALWA_1
    t3 = load_table("3")
    quiet, noisy = [50.0 + x for x in (0, 1, -1, 2, -2)], [50.0 + 8 * x for x in (0, 1, -1, 2, -2)]
    vals = {"dynamic_rcnn__initial": quiet, "double_head_rcnn__initial": noisy,
            "dynamic_rcnn__alwa1": [55.0], "double_head_rcnn__alwa1": [55.0]}
    root = tmp_path / "sweeps"
    for cell, vs in vals.items():
        for seed, v in enumerate(vs):
            d = root / "smoke" / "table3" / cell / f"seed{seed}"
            from repro.core import records
            records.write_json(d / records.STATUS, {"state": "done"})
            records.write_json(d / records.METRICS, {"metric": "mAP", "value": v})
    cells = cell_table(t3, collect(t3, profile="smoke", sweeps_root=root)).set_index(["row", "column"])
    q, n = cells.loc[("dynamic_rcnn", "alwa1")], cells.loc[("double_head_rcnn", "alwa1")]
    assert q.noise_sigma == pytest.approx(SIGMA) and n.noise_sigma == pytest.approx(8 * SIGMA)
    assert q.significant == True and n.significant == False  # noqa: E712
    # Table 6 has no references: every cell of a column shares its noise row's cell
    t6 = load_table("6")
    assert {noise.domain(t6, c) for c in t6.cells() if c.column.id == "l1"} == {"l1.00__l1"}
