"""scripts/compare_machines.py on constructed records: the cross-machine check of issue
11, point 4 (the same cells and seed here and in a CSV made on another machine)."""
import subprocess
import sys
from pathlib import Path

from conftest import write_record

ROOT = Path(__file__).resolve().parents[1]
HEADER = "row,column,state,reproduced,n\n"


def compare(tmp_path, rows: str):
    (tmp_path / "there.csv").write_text(HEADER + rows)
    return subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "compare_machines.py"), "--table", "1",
         "--reference", str(tmp_path / "there.csv"), "--sweeps-root", str(tmp_path / "sweeps")],
        capture_output=True, text=True, cwd=ROOT)


def test_differences_counted_and_judged_against_the_target(tmp_path):
    write_record(tmp_path / "sweeps", "w1.00-1.00__voc_sgd_l1", 0, "done", 67.04)
    write_record(tmp_path / "sweeps", "w1.00-1.00__voc_sgd_l1", 1, "done", 90.0)  # not seed 0
    write_record(tmp_path / "sweeps", "w0.50-0.50__voc_sgd_l1", 0, "done", 70.0)
    write_record(tmp_path / "sweeps", "w0.25-0.25__voc_sgd_l1", 0, "done", 68.0)
    # The reference cell has n = 5 there (a mean, not seed 0): left out.
    r = compare(tmp_path, "w1.00-1.00,voc_sgd_l1,done,10.0,5\n"
                          "w0.50-0.50,voc_sgd_l1,done,70.0,1\n"
                          "w0.25-0.25,voc_sgd_l1,done,70.3,1\n")
    assert r.returncode == 1, r.stdout + r.stderr
    line = r.stdout.splitlines()[0]
    assert line.startswith("mAP: 2 cells, 1 identical; |Δ| mean 1.15, median 1.15, max 2.30 "
                           "(w0.25-0.25__voc_sgd_l1); 1 above the target 1.0"), line


def test_within_the_target_passes(tmp_path):
    write_record(tmp_path / "sweeps", "w0.50-0.50__voc_sgd_l1", 0, "done", 70.0)
    r = compare(tmp_path, "w0.50-0.50,voc_sgd_l1,done,70.4,1\n")
    assert r.returncode == 0 and r.stdout.splitlines()[-1] == "OK", r.stdout + r.stderr


def test_nothing_to_compare_is_one_line_and_exit_2(tmp_path):
    r = compare(tmp_path, "w0.50-0.50,voc_sgd_l1,done,70.4,1\n")
    assert r.returncode == 2 and len(r.stderr.splitlines()) == 1, r.stderr
    assert "run the table first" in r.stderr
