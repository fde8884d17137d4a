"""The regenerated table from hand-written run records (no training, no torch)."""
from pathlib import Path

import pandas as pd
import pytest

from repro.core import records
from repro.report.collect import collect
from repro.report.build import write_table
from repro.report.cells import cell_table, summarize
from repro.table.spec import load_table
from conftest import write_record as _record


@pytest.fixture
def table1():
    return load_table("1")


def test_summarize_over_seeds():
    g = pd.DataFrame({"state": ["done", "done", "failed"], "value": [50.0, 54.0, None],
                      "reason": [None, None, "nan"]})
    s = summarize(g)
    assert s["state"] == "done" and s["mean"] == 52.0 and s["n"] == 2
    assert s["std"] == pytest.approx(2.8284271, rel=1e-6)
    assert s["excluded"] == "nan"  # no seed column: the outcome alone


def test_a_cell_says_which_of_its_seeds_are_not_in_its_mean(tmp_path, table1):
    """A diverged seed beside finished ones is a result: every rendering names it."""
    _record(tmp_path, "w1.00-1.00__voc_sgd_l1", 0, "done", 60.0)
    _record(tmp_path, "w1.00-1.00__voc_sgd_l1", 1, "done", 62.0)
    _record(tmp_path, "w1.00-1.00__voc_sgd_l1", 2, "failed", reason="nan")
    _record(tmp_path, "w0.10-0.50__voc_sgd_l1", 0, "done", 61.0)
    _record(tmp_path, "w0.10-0.50__voc_sgd_l1", 2, "failed", reason="oom")
    _record(tmp_path, "w0.10-0.50__voc_sgd_l1", 1, "running")
    cells = cell_table(table1, collect(table1, profile="smoke", sweeps_root=tmp_path))
    by = cells.set_index(["row", "column"])
    base, c = by.loc[("w1.00-1.00", "voc_sgd_l1")], by.loc[("w0.10-0.50", "voc_sgd_l1")]
    assert (base.reproduced, base.n, base.excluded) == (61.0, 2, "seed 2 nan")
    assert (c.reproduced, c.n, c.excluded) == (61.0, 1, "seed 1 running; seed 2 failed (oom)")
    assert by.loc[("w0.10-0.75", "voc_sgd_l1")].excluded is None
    md, csv, tex, _ = write_table(table1, profile="smoke", sweeps_root=tmp_path,
                                  results_root=tmp_path / "results")
    text = md.read_text()
    line = next(l for l in text.splitlines() if l.startswith("| (1.00,1.00)"))
    assert "61.00 ± 1.41 (n=2; excluded: seed 2 nan) (paper 74.34)" in line
    line = next(l for l in text.splitlines() if l.startswith("| (0.10,0.50)"))
    assert "(n=1; excluded: seed 1 running; seed 2 failed (oom))" in line
    assert "Seeds not in their cell's mean (they did not finish): " in text
    assert "(n=2; excluded: seed 2 nan)" in tex.read_text()
    frame = pd.read_csv(csv).set_index(["row", "column"])
    assert frame.loc[("w1.00-1.00", "voc_sgd_l1"), "excluded"] == "seed 2 nan"


def test_deltas_against_the_reproduced_baseline(tmp_path, table1):
    _record(tmp_path, "w1.00-1.00__voc_sgd_l1", 0, "done", 60.0)
    _record(tmp_path, "w0.10-0.50__voc_sgd_l1", 0, "done", 61.5)
    _record(tmp_path, "w0.10-0.50__voc_sgd_l1", 1, "done", 62.5)
    _record(tmp_path, "w0.10-0.75__voc_sgd_l1", 0, "failed", reason="nan")
    _record(tmp_path, "w0.25-0.25__voc_sgd_l1", 0, "failed", reason="oom")
    _record(tmp_path, "w0.25-0.50__voc_sgd_l1", 0, "running")
    frame = collect(table1, profile="smoke", sweeps_root=tmp_path)
    assert len(frame) == 6
    cells = cell_table(table1, frame).set_index(["row", "column"])
    base = cells.loc[("w1.00-1.00", "voc_sgd_l1")]
    assert base.reproduced == 60.0 and base.paper == 74.34 and not base.paper_is_delta
    c = cells.loc[("w0.10-0.50", "voc_sgd_l1")]
    assert c.reproduced_delta == pytest.approx(2.0) and c.n == 2 and c.paper == 0.85
    assert cells.loc[("w0.10-0.75", "voc_sgd_l1")].state == "nan"
    assert cells.loc[("w0.25-0.25", "voc_sgd_l1")].state == "failed (oom)"
    assert cells.loc[("w0.25-0.50", "voc_sgd_l1")].state == "running"
    assert cells.loc[("w0.25-0.75", "voc_sgd_l1")].state == "missing"


def test_written_markdown_and_csv(tmp_path, table1):
    _record(tmp_path, "w1.00-1.00__voc_sgd_l1", 0, "done", 60.0)
    _record(tmp_path, "w0.10-0.50__voc_sgd_l1", 0, "done", 61.0)
    _record(tmp_path, "w0.10-0.50__voc_sgd_l1", 1, "done", 63.0)
    md, csv, tex, claims_csv = write_table(table1, profile="smoke", sweeps_root=tmp_path,
                          results_root=tmp_path / "results")
    text = md.read_text()
    assert "smoke profile" in text and "NOT comparable" in text
    line = next(l for l in text.splitlines() if l.startswith("| (0.10,0.50)"))
    assert "+2.00 ± 1.41 (n=2) (paper +0.85)" in line
    assert "| 60.00 (paper 74.34) |" in next(l for l in text.splitlines() if l.startswith("| (1.00,1.00)"))
    assert "missing (paper 36.60)" in text
    df = pd.read_csv(csv)
    assert len(df) == 120 and set(df.profile) == {"smoke"}
    assert tex.name == "table1.tex" and claims_csv.name == "table1_claims.csv"
    assert list(pd.read_csv(claims_csv).claim) == ["reg_gt_cls_beats_baseline", "coco_small_gain",
                                                   "coco_less_sensitive"]
    assert "## Claims" in text and "`rows_beat_baseline`" in text


def test_corrupt_record_is_shown_not_fatal(tmp_path, table1):
    d = tmp_path / "smoke" / "table1" / "w1.00-1.00__voc_sgd_l1" / "seed0"
    d.mkdir(parents=True)
    (d / "status.json").write_text("{not json")
    frame = collect(table1, profile="smoke", sweeps_root=tmp_path)
    assert list(frame.state) == ["corrupt"]


def test_records_are_written_whole_and_readable_by_others(tmp_path):
    path = tmp_path / "run" / "status.json"
    records.write_json(path, {"state": "done"})
    assert records.read_status(path.parent) == {"state": "done"}
    assert oct(path.stat().st_mode & 0o777) == oct(0o666 & ~_umask())
    assert [p.name for p in path.parent.iterdir()] == ["status.json"]  # no temp file left


def _umask():
    import os

    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_latex_table_has_the_markdowns_cells(tmp_path, table1):
    _record(tmp_path, "w1.00-1.00__voc_sgd_l1", 0, "done", 60.0)
    _record(tmp_path, "w0.10-0.50__voc_sgd_l1", 0, "done", 61.0)
    _record(tmp_path, "w0.10-0.50__voc_sgd_l1", 1, "done", 63.0)
    _record(tmp_path, "w0.10-0.75__voc_sgd_l1", 0, "failed", reason="nan")
    _record(tmp_path, "w0.25-0.25__voc_sgd_l1", 0, "failed", reason="oom")
    paths = write_table(table1, profile="smoke", sweeps_root=tmp_path,
                        results_root=tmp_path / "results")
    tex = paths[2].read_text()
    assert paths[2].name == "table1.tex"
    row = next(l for l in tex.splitlines() if l.startswith("(0.10,0.50) &"))
    assert row.split(" & ")[1] == r"$+2.00$ $\pm$ 1.41 (n=2) (paper $+0.85$)"
    assert r"nan (paper $+0.97$)" in tex and r"failed (oom) (paper $+0.23$)" in tex
    assert r"missing (paper 36.60)" in tex
    assert r"\multicolumn{4}{c}{VOC} & \multicolumn{2}{c}{COCO}" in tex
    _check_tabular(tex, columns=7, rows=2 + 20, workdir=tmp_path)


def _check_tabular(tex: str, columns: int, rows: int, workdir: Path):
    """Structure always; a real compile inside a minimal document where pdflatex exists."""
    from latex_check import compile_if_available

    body = [l for l in tex.splitlines() if not l.startswith("%")]
    assert tex.count(r"\begin{tabular}") == tex.count(r"\end{tabular}") == 1
    assert body[0] == r"\begin{tabular}{l" + "c" * (columns - 1) + "}"
    # full-width rows under the body: the noise legend (and a table's note)
    notes = [l for l in body if l.startswith(rf"\multicolumn{{{columns}}}{{l}}")]
    assert any("Noise, the pooled" in l for l in notes)
    lines = [l for l in body if l.endswith(r"\\") and l not in notes]
    assert len(lines) == rows and all(l.count(r"\\") == 1 for l in lines)
    for line in lines[1:]:  # the group line spans columns with \multicolumn
        assert line.replace(r"\&", "").count("&") == columns - 1, line
    compile_if_available(tex, workdir)


def test_latex_escapes_special_characters():
    from repro.report.formats.latex import escape

    assert escape("50% & a_b #1 {x} ~ ^ $ \\") == (r"50\% \& a\_b \#1 \{x\} \textasciitilde{} "
                                                    r"\textasciicircum{} \$ \textbackslash{}")
    assert escape("-0.49 ± 0.10, SGD+L1, w1.00-1.00") == r"$-0.49$ $\pm$ 0.10, SGD+L1, w1.00-1.00"


def test_corrupt_and_partial_records_are_listed_with_a_count(tmp_path, table1):
    _record(tmp_path, "w1.00-1.00__voc_sgd_l1", 0, "done", 60.0)
    partial = _record(tmp_path, "w0.10-0.50__voc_sgd_l1", 0, "done")  # no metrics.json
    broken = tmp_path / "smoke" / "table1" / "w0.10-0.75__voc_sgd_l1" / "seed0"
    broken.mkdir(parents=True)
    (broken / "status.json").write_text("{not json")
    empty = tmp_path / "smoke" / "table1" / "w0.25-0.25__voc_sgd_l1" / "seed0"
    empty.mkdir(parents=True)
    frame = collect(table1, profile="smoke", sweeps_root=tmp_path)
    assert sorted(frame.problem.dropna()) == ["done without metrics.json (missing)",
                                              "status.json missing", "status.json unreadable"]
    md = write_table(table1, profile="smoke", sweeps_root=tmp_path,
                     results_root=tmp_path / "results")[0].read_text()
    assert "## Records needing attention: 3" in md
    assert f"- `{partial}`: done without metrics.json (missing)" in md
    assert f"- `{broken}`: status.json unreadable" in md
    line = next(l for l in md.splitlines() if l.startswith("| (0.10,0.50)"))
    assert "corrupt (paper +0.85)" in line


def test_a_run_awaiting_the_evaluation_server_is_shown_as_such(tmp_path):
    from repro.core import records
    from repro.report.collect import read_record
    from repro.report.cells import _summary

    records.write_json(tmp_path / records.STATUS, {"state": "done", "seconds": 1.0})
    records.write_json(tmp_path / records.METRICS, {"metric": "AP", "value": None,
                                                    "source": "awaiting evaluation server"})
    rec = read_record(str(tmp_path))
    assert rec["state"] == "awaiting server"
    assert _summary([rec["state"]], [None], [None])["state"] == "awaiting server"


def test_the_frame_carries_each_runs_provenance(tmp_path):
    from repro.report.collect import read_record

    records.write_json(tmp_path / records.STATUS, {"state": "done", "seconds": 2.0})
    records.write_json(tmp_path / records.METRICS, {"metric": "mAP", "value": 41.0})
    assert read_record(str(tmp_path))["git_commit"] is None  # no provenance.json: unknown
    records.write_json(tmp_path / records.PROVENANCE, {
        "git": {"commit": "abc123", "dirty": True}, "overrides": ["detector=faster_rcnn_r50", "seed=0"]})
    rec = read_record(str(tmp_path))
    assert (rec["git_commit"], rec["git_dirty"], rec["value"]) == ("abc123", True, 41.0)
    assert rec["overrides"] == "detector=faster_rcnn_r50 seed=0"
