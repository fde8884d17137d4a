"""The chaos benchmark (issue 12): a local smoke sweep killed at random moments loses
nothing.

    .venv/bin/python scripts/benchmark_chaos.py                     # 12 cells, 10 kills
    .venv/bin/python scripts/benchmark_chaos.py --cells 12 --kills 10 --iters 8 --checkpoint 2

1. An uninterrupted sweep of --cells cells of Table 1 (smoke, --iters iterations, a
   checkpoint every --checkpoint) into <root>/whole: the reference.
2. The same sweep into <root>/chaos, SIGKILLed (the sweep and its workers, the whole
   process group) --kills times and relaunched after each kill. The moment alternates:
   at a random time; as soon as a checkpoint file is being written (a new iter_*.pth);
   as soon as a record's temporary file appears (status.json / metrics.json being
   replaced). After each kill the script notes what the kill caught (a torn checkpoint
   left, a record's temporary file left) and every running cell's resume point.
3. A last relaunch runs the sweep to its end.

Checks, printed as counts, written to <root>/summary.json, exit 1 on any violation:
every cell done exactly once (a done cell's record never rewritten by a later launch),
metrics equal to the reference's, every record and scalars.jsonl readable with each
iteration once, and no cell restarting from iteration 0 once it had a checkpoint (its
resume point never goes back).
"""
from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from repro.core import records  # noqa: E402
from repro.job.checkpointing import checkpoints, resume_point  # noqa: E402
from repro.table.spec import load_table  # noqa: E402


def sweep_cmd(cells: list[str], root: Path, iters: int, every: int) -> list[str]:
    return [sys.executable, "-m", "repro", "table=1", "-m", f"cells=[{','.join(cells)}]",
            f"profile.iters={iters}", f"profile.checkpoint={every}", "noise_seeds=1",
            "report=false", "trackers=[]", f"sweeps_root={root}",
            f"results_root={root.parent / 'results'}"]


def run_dirs(root: Path, cells: list[str]) -> dict[str, Path]:
    return {c: root / "smoke" / "table1" / c / "seed0" for c in cells}


def wait_for(predicate, proc, timeout: float) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end and proc.poll() is None:
        if predicate():
            return True
        time.sleep(0.002)
    return False


def snapshot(dirs: dict[str, Path]) -> dict:
    """Per cell: done (with its record's end time) or its resume point."""
    out = {}
    for cell, rd in dirs.items():
        status = records.read_status(rd) or {}
        if status.get("state") == records.DONE:
            out[cell] = ("done", status.get("ended"))
        else:
            point = resume_point(rd / "mmdet")
            out[cell] = ("resume", None if point is None else point[1])
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cells", type=int, default=12)
    ap.add_argument("--kills", type=int, default=10)
    ap.add_argument("--iters", type=int, default=8)
    ap.add_argument("--checkpoint", type=int, default=2)
    ap.add_argument("--seed", type=int, default=12)
    ap.add_argument("--root", type=Path, default=None)
    a = ap.parse_args()
    rng = random.Random(a.seed)
    root = a.root or Path(tempfile.mkdtemp(prefix="chaos-"))
    spec = load_table("1")
    cells = [c.id for c in spec.cells() if c.column.id == "voc_sgd_l1"][:a.cells]
    env = {**os.environ, "REPRO_DATA_ROOT": str(ROOT / "data")}

    t0 = time.monotonic()
    whole = subprocess.run(sweep_cmd(cells, root / "whole", a.iters, a.checkpoint), cwd=ROOT,
                           env=env, capture_output=True, text=True)
    t_whole = time.monotonic() - t0
    print(f"reference sweep: exit {whole.returncode}, {t_whole:.0f} s", flush=True)

    chaos = root / "chaos"
    dirs = run_dirs(chaos, cells)
    caught = {"random": 0, "checkpoint save": 0, "record write": 0}
    torn_ckpts = temp_records = 0
    reran = restarted = 0
    kills = []
    for k in range(a.kills):
        before = snapshot(dirs)
        proc = subprocess.Popen(sweep_cmd(cells, chaos, a.iters, a.checkpoint), cwd=ROOT,
                                env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                start_new_session=True)
        moment = ("random", "checkpoint save", "record write")[k % 3]
        known = {p for rd in dirs.values() for p in checkpoints(rd / "mmdet")}
        if moment == "checkpoint save":
            hit = wait_for(lambda: any(p not in known for rd in dirs.values()
                                       for p in checkpoints(rd / "mmdet")), proc, 300)
        elif moment == "record write":
            hit = wait_for(lambda: any(rd.is_dir() and any(
                f.name.startswith((".status.json.", ".metrics.json.")) for f in rd.iterdir())
                for rd in dirs.values()), proc, 300)
        else:
            time.sleep(rng.uniform(5, 60))
            hit = proc.poll() is None
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        caught[moment] += bool(hit)
        torn_ckpts += sum(1 for rd in dirs.values() for p in checkpoints(rd / "mmdet")
                          if resume_point(rd / "mmdet") and p != resume_point(rd / "mmdet")[0])
        temp_records += sum(1 for rd in dirs.values() if rd.is_dir() for f in rd.iterdir()
                            if f.name.startswith((".status.json.", ".metrics.json.")))
        after = snapshot(dirs)
        for cell in cells:
            was, now = before[cell], after[cell]
            if was[0] == "done" and now != was:
                reran += 1
            if was[0] == "resume" and was[1] and now[0] == "resume" and (now[1] or 0) < was[1]:
                restarted += 1
        kills.append({"moment": moment, "hit": bool(hit),
                      "done": sum(s[0] == "done" for s in after.values())})
        print(f"kill {k + 1}: {moment}{'' if hit else ' (missed: killed anyway)'}, "
              f"{kills[-1]['done']} of {len(cells)} cells done", flush=True)

    before = snapshot(dirs)
    last = subprocess.run(sweep_cmd(cells, chaos, a.iters, a.checkpoint), cwd=ROOT, env=env,
                          capture_output=True, text=True)
    after = snapshot(dirs)
    reran += sum(1 for c in cells if before[c][0] == "done" and after[c] != before[c])
    restarted += sum(1 for c in cells if before[c][0] == "resume" and before[c][1]
                     and after[c][0] == "resume" and (after[c][1] or 0) < before[c][1])

    ref, got = run_dirs(root / "whole", cells), dirs
    done = sum((records.read_status(rd) or {}).get("state") == records.DONE
               for rd in got.values())
    same = torn = 0
    for cell in cells:
        m_ref = records.read_json(ref[cell] / records.METRICS)
        m_got = records.read_json(got[cell] / records.METRICS)
        same += m_ref is not None and m_ref == m_got
        try:
            rows = records.read_jsonl(got[cell] / "scalars.jsonl")
            torn += [r["iter"] for r in rows] != list(range(1, a.iters + 1))
            torn += records.read_status(got[cell]) is None
        except (OSError, ValueError):
            torn += 1
    left = sum(1 for rd in got.values() for _ in checkpoints(rd / "mmdet"))
    summary = {"cells": len(cells), "kills": a.kills, "caught": caught,
               "torn_checkpoints_left_by_kills": torn_ckpts,
               "record_temp_files_left_by_kills": temp_records,
               "done": done, "metrics_equal_reference": same, "torn_records": torn,
               "done_cells_rerun": reran, "restarts_from_0_after_a_checkpoint": restarted,
               "checkpoints_left_at_end": left, "final_exit": last.returncode,
               "reference_exit": whole.returncode, "reference_seconds": round(t_whole),
               "seconds": round(time.monotonic() - t0), "root": str(root), "kill_log": kills}
    (root / "summary.json").write_text(json.dumps(summary, indent=2))
    print(json.dumps({k: v for k, v in summary.items() if k != "kill_log"}, indent=2))
    ok = (done == same == len(cells) and torn == reran == restarted == left == 0
          and last.returncode == 0 and whole.returncode == 0)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
