"""Issue 12 point 7: a disk that fills during a sweep. A smoke cell whose sweeps_root is a
1 MiB tmpfs: what it writes before its first checkpoint (configs, logs, the `running`
record: about 120 KiB, measured with du and df) fits, its checkpoint at iteration 4 does
not (the model's weights alone are 4 MB: keep_weights=true's weights.pth). The cell ends `failed` with the reason class `disk`, its record readable, the
part of the checkpoint the disk cut short deleted (it is no resume point and held the room
the record needs), its claim released; the sweep ends with its one closing line."""
import json
import os
import re
import subprocess
import sys
import time

import pytest

from conftest import DATA_ROOT, ROOT, run_repro, tmpfs
from repro.core import records
from test_records import fill

pytestmark = pytest.mark.training

CELL = "w1.00-1.00__voc_sgd_l1"
ARGS = ("table=1", "-m", f"cells=[{CELL}]", "profile.iters=8", "profile.checkpoint=4",
        "report=false", "trackers=[]")


def test_a_full_disk_mid_run_ends_the_cell_failed_disk_with_its_record_whole(tmp_path):
    with tmpfs(tmp_path / "disk", "size=1m") as disk:
        r = run_repro(*ARGS, tmp_path=disk)  # sweeps_root (and results_root) on the tmpfs
        rd = disk / "sweeps" / "smoke" / "table1" / CELL / "seed0"
        status = json.loads((rd / "status.json").read_text())
        left = sorted(p.name for p in (rd / "mmdet").glob("*.pth"))
        claimed = (rd / "claim.json").exists()
    assert "Traceback" not in r.stderr, r.stderr[-3000:]
    [closing] = [l for l in r.stdout.splitlines() if l.startswith("finished ")]
    assert re.sub(r" in [^:]+:", ":", closing) == \
        "finished 1 job: 0 done, 1 failed (disk 1), 0 skipped, 0 lost"
    [line] = [l for l in r.stdout.splitlines() if l.startswith("[1/1] ")]
    assert "FAILED (disk: [Errno 28] No space left on device)" in line, line
    assert status["state"] == "failed" and status["reason"] == "disk", status
    assert "No space left on device" in status["message"]
    assert left == [] and not claimed


def test_a_disk_too_full_for_the_record_leaves_the_running_record_whole(tmp_path):
    """Another writer fills the disk once the cell's `running` record is written: the
    job's writes fail, and so does its failed record. That record stays the `running` one,
    whole; the claim is released (the next launch resumes the cell) and the closing line
    counts the cell failed(disk)."""
    with tmpfs(tmp_path / "disk", "size=1m") as disk:
        rd = disk / "sweeps" / "smoke" / "table1" / CELL / "seed0"
        cmd = [sys.executable, "-m", "repro", *ARGS, "noise_seeds=1",
               f"sweeps_root={disk}/sweeps", f"results_root={disk}/results"]
        sweep = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                 text=True, env={**os.environ, "REPRO_DATA_ROOT": str(DATA_ROOT)})
        try:
            while (records.read_status(rd) or {}).get("state") != "running":
                assert sweep.poll() is None, sweep.communicate()
                time.sleep(0.05)
            fill(disk)
            out, err = sweep.communicate(timeout=300)
        finally:
            sweep.kill()
        status = records.read_status(rd)
        claimed = (rd / "claim.json").exists()
    assert "Traceback" not in err, err[-3000:]
    [closing] = [l for l in out.splitlines() if l.startswith("finished ")]
    assert re.sub(r" in [^:]+:", ":", closing) == \
        "finished 1 job: 0 done, 1 failed (disk 1), 0 skipped, 0 lost"
    [line] = [l for l in out.splitlines() if l.startswith("[1/1] ")]
    assert "FAILED (disk: the record could not be written: [Errno 28]" in line, line
    assert status["state"] == "running" and status["cell"] == CELL, status
    assert not claimed
