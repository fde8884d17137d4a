"""Issue 12's repro, as a user meets it: a local sweep whose worker is SIGKILLed mid-run
(after the checkpoint of iteration 4, the last line of scalars.jsonl torn) says so and
exits 1; the relaunch resumes the cell, finishes it, records it done and frees its claim."""
import json
import os
import re

import pytest

from conftest import ROOT

pytestmark = pytest.mark.training

CELL = "w1.00-1.00__voc_sgd_l1"
ARGS = ("table=1", "-m", f"cells=[{CELL}]", "profile.iters=8", "profile.checkpoint=4",
        "report=false", "trackers=[]")


def closing(result):
    [line] = [l for l in result.stdout.splitlines() if l.startswith("finished ")]
    return re.sub(r" in [^:]+:", ":", line)


def test_a_killed_worker_is_counted_lost_exits_1_and_the_relaunch_resumes(repro):
    inject = {"PYTHONPATH": f"{ROOT / 'tests' / 'inject'}{os.pathsep}"
                            f"{os.environ.get('PYTHONPATH', '')}",
              "INTERRUPT": json.dumps({"at": 6, "tear": True})}
    killed = repro(*ARGS, env=inject)
    assert killed.returncode == 1, killed.stderr[-3000:]
    assert closing(killed) == "finished 1 job: 0 done, 0 failed, 0 skipped, 1 lost"
    assert "1 job(s) ended without a record" in killed.stdout
    rd = repro.tmp_path / "sweeps" / "smoke" / "table1" / CELL / "seed0"
    assert json.loads((rd / "status.json").read_text())["state"] == "running"
    assert (rd / "claim.json").exists()  # the dead worker's
    assert (rd / "scalars.jsonl").read_text().endswith('"loss": 0.')

    again = repro(*ARGS)
    assert again.returncode == 0, again.stderr[-3000:]
    assert closing(again) == "finished 1 job: 1 done, 0 failed, 0 skipped, 0 lost"
    status = json.loads((rd / "status.json").read_text())
    assert status["state"] == "done" and status["resumed_from"] == 4
    assert not (rd / "claim.json").exists()
    rows = [json.loads(l) for l in (rd / "scalars.jsonl").read_text().splitlines()]
    assert [r["iter"] for r in rows] == list(range(1, 9))
