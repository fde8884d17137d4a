"""The `repro` command (issue 14): `repro ...` is `python -m repro ...`, its --help lists
what there is to run, and the sibling commands run through it. None of these trains."""
import re
import subprocess
import sys
from pathlib import Path

import pytest

from repro.commands.help import SIBLINGS
from repro.table.spec import available_tables, load_table

ROOT = Path(__file__).resolve().parents[1]
REPRO = Path(sys.executable).parent / "repro"  # the console script pip installed


def _run(*cmd, timeout=120):
    return subprocess.run([str(c) for c in cmd], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout)


def test_pip_installed_a_repro_command():
    assert REPRO.is_file(), f"{REPRO} is missing: pip install -e . (bash scripts/setup.sh)"


@pytest.fixture(scope="module")
def help_text():
    r = _run(sys.executable, "-m", "repro", "--help")
    assert r.returncode == 0, r.stderr
    return r.stdout


def test_help_lists_every_table_with_its_cells_and_smoke_time(help_text):
    rows = {m[1]: m for m in re.finditer(
        r"^  table=(\S+) +(ALWA|HCRAL) Table (\S+) +(\d+) cells +(\d+) runs +~(\d+ (?:s|min))",
        help_text, re.M)}
    assert set(rows) == set(available_tables())
    for name, m in rows.items():
        spec = load_table(name)
        assert (m[2], m[3], int(m[4])) == (spec.paper, str(spec.number), len(spec.cells()))
        assert int(m[5]) >= len(spec.cells())  # the reference cells' noise seeds come on top
    assert rows["1"][4] == "120"


def test_help_lists_profiles_groups_options_and_sibling_commands(help_text):
    assert "Profiles (profile=): paper, smoke" in help_text
    for group, entry in (("detector", "faster_rcnn_r50"), ("balancer", "alwa2"),
                         ("reg_loss", "ciou"), ("dataset", "voc0712")):
        assert re.search(rf"^  {group}= +.*\b{entry}\b", help_text, re.M), group
    for option in ("seeds=3", "cells=", "retry_failed=true", "force=true", "verbose=true",
                   "trackers=[tensorboard]", "hydra/launcher=slurm"):
        assert f"  {option}" in help_text, option
    for name in ("plan", "status", "report", "enter"):
        assert re.search(rf"^  repro {name} +\w", help_text, re.M), name
    assert "repro --hydra-help" in help_text


def test_the_console_script_is_python_dash_m_repro(help_text):
    r = _run(REPRO, "--help")
    assert (r.returncode, r.stdout) == (0, help_text)
    # Bad input: the same one line and exit status from either.
    a, b = _run(REPRO, "table=1"), _run(sys.executable, "-m", "repro", "table=1")
    assert a.returncode == b.returncode == 2
    assert a.stderr == b.stderr and a.stderr.startswith("repro: a table is a sweep: add -m")
    assert "Traceback" not in a.stderr


def test_repro_runs_the_sibling_commands(tmp_path):
    from conftest import write_record

    write_record(tmp_path, "w1.00-1.00__voc_sgd_l1", 0, "done", value=60.0)
    args = ["table=1", f"sweeps_root={tmp_path}", "summary=true"]
    a = _run(REPRO, "status", *args)
    b = _run(sys.executable, "-m", "repro.status", *args)
    assert a.returncode == b.returncode == 0, a.stderr
    assert a.stdout == b.stdout
    assert a.stdout.startswith("table1    ALWA Table 1     144 runs: 1 done")  # + noise seeds
    assert set(SIBLINGS) == {"plan", "status", "report", "enter", "doctor"}
    plan = _run(REPRO, "plan", "table=3")
    assert plan.returncode == 0 and plan.stdout.startswith("ALWA Table 3 (table3), smoke profile")
