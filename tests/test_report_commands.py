"""`python -m repro.report` and `python -m repro.status`: records in, text out, no torch."""
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest

from repro.commands.status import main as status_main
from repro.core import records
from repro.launch import claims

ROOT = Path(__file__).resolve().parents[1]


def _record(root, cell, seed, state, value=None, **status):
    d = root / "smoke" / "table1" / cell / f"seed{seed}"
    records.write_json(d / records.STATUS, {"state": state, **status})
    if value is not None:
        records.write_json(d / records.METRICS, {"metric": "mAP", "value": value})
    return d


def _some_records(root):
    _record(root, "w1.00-1.00__voc_sgd_l1", 0, "done", 60.0, host="vm", pid=12512,
            slurm_job_id=None, seconds=11.751)
    _record(root, "w1.00-1.00__voc_sgd_l1", 1, "failed", reason="nan", host="node7", pid=88,
            slurm_job_id="4242_3", seconds=95.0)
    running = _record(root, "w0.10-0.50__voc_sgd_l1", 0, "running", host="node7", pid=90,
                      slurm_job_id="4243", started="2026-11-20T10:00:00+00:00")
    # Its claim, held by a live process (this one): it is running, not lost.
    records.write_json(running / claims.CLAIM, claims.owner("launch-a"))
    _record(root, "w0.10-0.75__voc_sgd_l1", 0, "done", host="vm", pid=1, seconds=4000)


def test_status_lists_every_cell_and_seed(tmp_path, capsys):
    _some_records(tmp_path)
    now = datetime(2026, 11, 20, 10, 3, 5, tzinfo=timezone.utc)
    assert status_main(["table=1", f"sweeps_root={tmp_path}"], now=now) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == f"ALWA Table 1 (table1), smoke profile: {tmp_path}/smoke/table1"
    rows = {tuple(l.split()[:2]): " ".join(l.split()[2:]) for l in lines[2:-1]}
    # 120 cells x seed 0, the 6 reference cells (the baseline row) seeds 0..4 (noise_seeds)
    assert len(rows) == 144
    assert rows[("w1.00-1.00__voc_sgd_l1", "0")] == "done vm pid 12512 11.8s"
    assert rows[("w1.00-1.00__voc_sgd_l1", "1")] == "failed(nan) node7 pid 88 slurm 4242_3 1m35s"
    assert rows[("w0.10-0.50__voc_sgd_l1", "0")] == "running node7 pid 90 slurm 4243 for 3m05s"
    assert rows[("w0.10-0.75__voc_sgd_l1", "0")] == (
        "corrupt(done without metrics.json (missing)) vm pid 1 1h06m")
    assert rows[("w1.00-1.00__coco_adamw_l1", "4")] == "pending - -"
    assert ("w2.00-2.00__coco_adamw_l1", "1") not in rows
    assert lines[-1] == ("144 runs (120 cells x 1 seed; 6 reference cells seeds 0-4): 1 done, "
                         "1 failed, 1 running, 1 corrupt, 140 pending")


def test_a_running_record_no_process_runs_is_lost(tmp_path, capsys):
    dead = subprocess.Popen(["true"])
    dead.wait()
    d = _record(tmp_path, "w0.10-0.50__voc_sgd_l1", 0, "running", host="vm", pid=dead.pid,
                slurm_job_id=None, started="2026-11-20T10:00:00+00:00")
    records.write_json(d / claims.CLAIM, {**claims.owner("launch-a"), "pid": dead.pid})
    _record(tmp_path, "w0.10-0.75__voc_sgd_l1", 0, "running", host="vm", pid=1)  # no claim
    assert status_main(["table=1", f"sweeps_root={tmp_path}"]) == 0
    lines = capsys.readouterr().out.splitlines()
    rows = {tuple(l.split()[:2]): " ".join(l.split()[2:]) for l in lines[2:-1]}
    assert rows[("w0.10-0.50__voc_sgd_l1", "0")] == f"lost vm pid {dead.pid} -"
    assert rows[("w0.10-0.75__voc_sgd_l1", "0")] == "lost vm pid 1 -"
    assert lines[-1].endswith("0 done, 0 failed, 0 running, 2 lost, 142 pending")


def test_status_takes_the_seeds_of_the_sweep(tmp_path, capsys):
    _some_records(tmp_path)
    assert status_main(["table=1", f"sweeps_root={tmp_path}", "seeds=3"]) == 0
    assert capsys.readouterr().out.splitlines()[-1].startswith(
        "372 runs (120 cells x 3 seeds; 6 reference cells seeds 0-4)")
    assert status_main(["table=1", f"sweeps_root={tmp_path}", "seeds=3", "noise_seeds=1"]) == 0
    assert capsys.readouterr().out.splitlines()[-1].startswith("360 runs (120 cells x 3 seeds)")


def test_status_summary_is_one_line_per_table(tmp_path, capsys):
    _some_records(tmp_path)
    assert status_main(["table=1", f"sweeps_root={tmp_path}", "summary=true"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "table1    ALWA Table 1     144 runs: 1 done, 1 failed (nan 1), 1 running, 1 corrupt, "
        "140 pending - 1% finished"]


def test_status_of_every_table_ends_with_their_summaries(tmp_path, capsys):
    from repro.table.spec import available_tables, load_table

    _some_records(tmp_path)
    assert status_main([f"sweeps_root={tmp_path}"]) == 0  # table=all, the default
    lines = capsys.readouterr().out.splitlines()
    names = available_tables()
    head = lines.index(f"Summary, smoke profile ({tmp_path}):")
    summary = lines[head + 1:]
    assert [l.split()[0] for l in summary] == [load_table(n).id for n in names]
    assert summary[0].startswith("table1    ALWA Table 1     144 runs: 1 done, 1 failed (nan 1)")
    table2 = summary[names.index("2")]
    # Table 2: 36 cells, its 4 plain rows x 3 losses (12 reference cells) on 4 more seeds
    assert table2.endswith("84 runs: 0 done, 0 failed, 0 running, 84 pending - 0% finished")


def _run(module, *args):
    return subprocess.run([sys.executable, "-m", module, *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)


@pytest.mark.parametrize("module", ["repro.report", "repro.status"])
@pytest.mark.parametrize("args, needle", [
    (["table=99"], "unknown table '99'. Tables: 1"),
    (["table=1", "profile=smoke"], "no run folders for profile 'smoke'"),
    (["tabel=1"], "unknown argument 'tabel=1'"),
])
def test_bad_input_is_one_line_and_exit_2(tmp_path, module, args, needle):
    r = _run(module, *args, f"sweeps_root={tmp_path / 'none'}", *(
        [f"results_root={tmp_path / 'results'}"] if module == "repro.report" else []))
    assert r.returncode == 2, r.stderr
    assert "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert r.stderr.startswith("repro: ") and needle in r.stderr, r.stderr
    assert r.stdout == "" and not (tmp_path / "results").exists()


NO_TORCH = """
import sys
from repro.commands.status import main as status
from repro.commands.report import main as report
import repro.report.build, repro.report.claim_kinds, repro.report.claims, repro.report.collect
import repro.report.curves, repro.report.evidence, repro.report.figures, repro.report.formats.latex
import repro.report.selectors, repro.report.cells, repro.report.formats.markdown
import repro.report.table_figures
root = sys.argv[1]
assert report(["table=all", f"sweeps_root={root}", f"results_root={root}/results"]) == 0
assert status(["table=1", f"sweeps_root={root}"]) == 0
loaded = [m for m in ("torch", "mmdet", "mmengine", "hydra") if m in sys.modules]
assert not loaded, loaded
"""


def test_report_and_status_never_import_torch_or_mmdet(tmp_path):
    _some_records(tmp_path)
    r = subprocess.run([sys.executable, "-c", NO_TORCH, str(tmp_path)], cwd=ROOT,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    printed = r.stdout.splitlines()
    assert f"{tmp_path}/results/smoke/table1.tex" in printed
    assert f"{tmp_path}/results/smoke/figures/table1_weight_grid.png" in printed
    assert printed[-1].startswith("144 runs")


def test_report_show_prints_the_table(tmp_path):
    _some_records(tmp_path)
    r = _run("repro.report", "table=1", "show=true", f"sweeps_root={tmp_path}",
             f"results_root={tmp_path / 'results'}")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert "ALWA Table 1 (table1), smoke profile" in lines
    row = next(l for l in lines if l.startswith("(1.00,1.00)"))
    # seed 1 diverged: the mean is seed 0's, and the cell says so
    assert row.split(None, 1)[1].startswith("60.00 (n=1; excluded: seed 1 nan) (paper 74.34)")
    bad = _run("repro.report", "table=1", "show=maybe", f"sweeps_root={tmp_path}",
               f"results_root={tmp_path / 'results'}")
    assert bad.returncode == 2 and "show='maybe': use show=true or show=false" in bad.stderr
