"""Figures from hand-written records: the Table 1 weight grid and a balanced run's curves."""
import json

import pytest
import yaml

from repro.report.build import build_report
from repro.report.curves import window_stats
from repro.table.spec import load_table
from conftest import write_record as _record


def _alwa_run(d, iters=30, interval=5):
    """What a balanced job leaves: weighted losses, the weights, and its config."""
    rows, alpha = [], 1.0
    for i in range(1, iters + 1):
        cls, reg = 0.7 / i ** 0.3, 0.05 + 0.01 * (i % 3)
        rows.append({"iter": i, "loss": alpha * cls + reg, "loss_rpn_cls": alpha * cls,
                     "loss_rpn_bbox": reg, "balancer_w_cls": alpha, "balancer_w_reg": 1.0,
                     "lr": 0.01})
        if i % interval == 0:
            alpha = 0.3
    (d / "scalars.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    cfg = {"balancer": {"name": "alwa", "label": "ALWA_1", "variant": 1, "interval": interval},
           "detector": {"balance_keys": {"cls": "loss_rpn_cls", "reg": "loss_rpn_bbox"}}}
    (d / "config.yaml").write_text(yaml.safe_dump(cfg))


def test_window_stats_are_what_alwa_compares():
    stats = window_stats([1.0, 2.0, 3.0, 10.0, 10.0, 10.0, 5.0], interval=3)
    assert [s[0] for s in stats] == [3, 6]  # complete windows only, at their last iteration
    assert stats[0][1:] == pytest.approx((2.0, 1.0)) and stats[1][1:] == pytest.approx((10.0, 0.0))


def test_report_draws_the_weight_grid_and_the_balanced_runs(tmp_path):
    spec = load_table("1")
    _record(tmp_path, "w1.00-1.00__voc_sgd_l1", 0, "done", 60.0)
    _record(tmp_path, "w0.10-0.50__voc_sgd_l1", 0, "done", 61.0)
    _record(tmp_path, "w0.10-0.75__voc_sgd_l1", 0, "failed", reason="nan")
    static = _record(tmp_path, "w2.00-2.00__voc_sgd_l1", 0, "done", 59.0)
    (static / "scalars.jsonl").write_text('{"iter": 1, "loss": 1.0}\n')  # no weights: no plot
    _alwa_run(_record(tmp_path, "w1.00-1.00__coco_sgd_l1", 0, "done", 30.0))
    paths = build_report(spec, profile="smoke", sweeps_root=tmp_path,
                         results_root=tmp_path / "results")
    figures = tmp_path / "results" / "smoke" / "figures"
    drawn = sorted(str(p.relative_to(figures)) for p in paths if figures in p.parents)
    assert drawn == ["runs/table1_w1.00-1.00__coco_sgd_l1_seed0_balancer.pdf",
                     "runs/table1_w1.00-1.00__coco_sgd_l1_seed0_balancer.png",
                     "table1_weight_grid.pdf", "table1_weight_grid.png"]
    for p in paths:
        assert p.is_file() and p.stat().st_size > 0
        if p.suffix == ".png":
            assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and p.stat().st_size > 20_000
        if p.suffix == ".pdf":
            assert p.read_bytes()[:5] == b"%PDF-"
    assert {p.name for p in paths} >= {"table1.md", "table1.csv", "table1.tex",
                                       "table1_claims.csv"}


def _table4_like():
    from repro.table.spec import TableSpec

    return TableSpec.from_mapping("b", {
        "id": "tb", "paper": "ALWA", "number": 4, "row_header": "Approach",
        "columns": [{"id": "ret", "label": "RetinaNet", "group": "one-stage"},
                    {"id": "frc", "label": "Faster R-CNN", "group": "two-stage"}],
        "rows": [{"id": "base", "label": "Baseline", "baseline": True, "paper": [75.17, 74.34]},
                 {"id": "dwa", "label": "DWA", "paper": [72.47, "overflow"]},
                 {"id": "alwa1", "label": "ALWA_1", "paper": [75.99, 75.76]}],
        "figures": [{"kind": "bars", "x": "columns", "value": "delta"}]})


def _record_in(root, spec, cell, seed, state, value=None, reason=None):
    from repro.core import records

    d = root / "smoke" / spec.id / cell / f"seed{seed}"
    records.write_json(d / "status.json", {"state": state, "reason": reason, "seconds": 1.0})
    if value is not None:
        records.write_json(d / "metrics.json", {"metric": "mAP", "value": value})


def _drawn(monkeypatch):
    """The figures as drawn, kept open instead of saved."""
    from repro.report import bar_figure, line_figure

    kept = []
    for module in (bar_figure, line_figure):
        monkeypatch.setattr(module, "save_figure", lambda fig, out, stem: kept.append(
            (stem, fig)) or [out / f"{stem}.png"])
    return kept


def test_bars_show_each_balancers_gain_and_mark_diverged_cells(tmp_path, monkeypatch):
    from repro.report.collect import collect
    from repro.report.cells import cell_table
    from repro.report.table_figures import draw_table_figures

    spec = _table4_like()
    for seed, (b, a) in enumerate([(50.0, 51.0), (50.4, 51.8)]):
        _record_in(tmp_path, spec, "base__ret", seed, "done", b)
        _record_in(tmp_path, spec, "alwa1__ret", seed, "done", a)
    _record_in(tmp_path, spec, "dwa__ret", 0, "done", 49.0)
    _record_in(tmp_path, spec, "dwa__frc", 0, "failed", reason="overflow")
    kept = _drawn(monkeypatch)
    cells = cell_table(spec, collect(spec, profile="smoke", sweeps_root=tmp_path))
    draw_table_figures(spec, cells, "smoke", tmp_path / "fig", metric="mAP")
    (stem, fig), = kept
    assert stem == "tb_bars"
    paper, ours = fig.axes
    # bars in order: per detector (RetinaNet, Faster R-CNN), DWA then ALWA_1
    assert [round(p.get_height(), 2) for p in paper.patches][:2] == [-2.70, 0.82]
    assert round(paper.patches[3].get_height(), 2) == 1.42
    hatched = [p for p in paper.patches if p.get_hatch()]
    assert len(hatched) == 1 and "overflow" in [t.get_text() for t in paper.texts]
    # ours: DWA 49.0 - 50.2, ALWA_1 51.4 - 50.2; the Faster R-CNN column is not run yet
    assert [round(p.get_height(), 2) for p in ours.patches[:2]] == [-1.2, 1.2]
    assert {"overflow", "missing"} <= {t.get_text() for t in ours.texts}
    assert ours.get_ylabel() == "Δ mAP to the reference (points)"
    assert "reproduced (smoke profile)" in ours.get_title()
    assert [t.get_text() for t in paper.get_xticklabels()] == ["RetinaNet\n(one-stage)",
                                                               "Faster R-CNN\n(two-stage)"]
    # the error bar of a difference: its 95% interval from the noise (repro/report/noise.py).
    # ALWA_1 on RetinaNet shares seeds 0, 1 with the reference: paired differences 1.0 and
    # 1.4 (std 0.283, dof 1), SE 0.283 / sqrt(2), t(1) 12.706. DWA has one seed: unpaired,
    # sigma pooled over the reference (50.0, 50.4) and ALWA_1 (51.0, 51.8): sqrt(0.40 / 2),
    # dof 2, SE sigma * sqrt(1 + 1/2), t(2) 4.303.
    from matplotlib.container import ErrorbarContainer

    segments = [seg for c in ours.containers if isinstance(c, ErrorbarContainer)
                for cols in c.lines[2] for seg in cols.get_segments()]
    half = [(b[1] - a[1]) / 2 for a, b in segments]
    assert half == pytest.approx([4.303 * (0.40 / 2) ** 0.5 * 1.5 ** 0.5,
                                  12.706 * 0.08 ** 0.5 / 2 ** 0.5], rel=1e-3)


def test_lines_over_an_ablated_parameter(tmp_path, monkeypatch):
    from repro.report.collect import collect
    from repro.report.cells import cell_table
    from repro.report.table_figures import draw_table_figures
    from repro.table.spec import TableSpec

    spec = TableSpec.from_mapping("a", {
        "id": "ta", "paper": "ALWA", "number": 6,
        "columns": [{"id": "l1", "label": "L1"}, {"id": "ciou", "label": "CIoU"}],
        "rows": [{"id": f"C{c}", "group": "C", "set": {"balancer.interval": c},
                  "paper": [75.0 + i / 10, 75.5]} for i, c in enumerate((20, 100, 500))],
        "figures": [{"kind": "lines", "rows": {"group": "C"}, "x": "balancer.interval",
                     "xlabel": "C", "xscale": "log"}]})
    for seed, v in enumerate((40.0, 42.0)):
        _record_in(tmp_path, spec, "C20__l1", seed, "done", v)
    _record_in(tmp_path, spec, "C100__l1", 0, "done", 43.0)
    _record_in(tmp_path, spec, "C500__l1", 0, "failed", reason="nan")
    kept = _drawn(monkeypatch)
    cells = cell_table(spec, collect(spec, profile="smoke", sweeps_root=tmp_path))
    draw_table_figures(spec, cells, "smoke", tmp_path / "fig", metric="mAP")
    (stem, fig), = kept
    assert stem == "ta_lines_interval"
    paper, ours = fig.axes
    assert list(paper.lines[0].get_xdata()) == [20, 100, 500]
    assert list(paper.lines[0].get_ydata()) == pytest.approx([75.0, 75.1, 75.2])
    l1 = ours.containers[0]  # errorbar: the line, its caps and bars
    assert list(l1.lines[0].get_ydata())[:2] == [41.0, 43.0]
    assert "nan" in [t.get_text() for t in ours.texts]
    assert paper.get_xscale() == "log" and paper.get_xlabel() == "C"


@pytest.mark.parametrize("entry, needle", [
    ({"kind": "pie"}, "kind one of bars, lines"),
    ({"kind": "bars", "x": "diagonal"}, "x is 'columns' or 'rows'"),
    ({"kind": "bars", "colour": "red"}, "unknown ['colour']"),
    ({"kind": "lines", "x": "balancer.name"}, "numeric override"),
    ({"kind": "bars", "rows": {"ids": ["nope"]}}, "match no row"),
])
def test_bad_figure_entries_are_refused_by_name(tmp_path, entry, needle):
    import dataclasses

    from repro.core.errors import ReproError

    spec = dataclasses.replace(_table4_like(), figures=(entry,))
    with pytest.raises(ReproError, match="b.yaml, figure 1") as e:
        build_report(spec, profile="smoke", sweeps_root=tmp_path, results_root=tmp_path / "r")
    assert needle in str(e.value)
    assert not (tmp_path / "r").exists()  # refused before anything is written


def test_every_alwa_tables_figures_are_drawn(tmp_path):
    spec_names = "23456"
    from repro.table.spec import load_table

    for name in spec_names:
        spec = load_table(name)
        paths = build_report(spec, profile="smoke", sweeps_root=tmp_path,
                             results_root=tmp_path / "results")
        pngs = [p.name for p in paths if p.suffix == ".png"]
        assert pngs, name
        for p in paths:
            assert p.is_file() and p.stat().st_size > 0
    figures = sorted(p.name for p in (tmp_path / "results" / "smoke" / "figures").glob("*.png"))
    assert figures == ["table2_bars.png", "table3_bars.png", "table4_bars.png", "table5_bars.png",
                       "table6_lines_interval.png", "table6_lines_lambda0.png"]
