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

    .venv/bin/python scripts/benchmark_chaos.py --slurm --cells 12 --iters 96 --checkpoint 8

--slurm: the same on a real one-node SLURM (tests/slurm_cluster.py, started here, as
root): the reference as above (the local launcher: a SLURM job trains the same cell to
the same metrics, which the last check confirms cell by cell), then the sweep with
`hydra/launcher=slurm` (one array, --parallel tasks at once), --requeues `scontrol
requeue`s of running array tasks at random moments, then one `scancel` of a running
task; once the queue is empty `python -m repro.status` must show that cell `lost`, and a
relaunch must resume it. Same checks, plus: every requeued or cancelled cell resumed at
or after the checkpoint it had when it was hit. Needs root (the cluster runs as root).
"""
from __future__ import annotations

import argparse
import json
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from repro.core import records  # noqa: E402
from repro.job.checkpointing import checkpoints, resume_point  # noqa: E402
from repro.table.spec import load_table  # noqa: E402


def sweep_cmd(cells: list[str], root: Path, iters: int, every: int,
              *extra: str) -> list[str]:
    return [sys.executable, "-m", "repro", "table=1", "-m", f"cells=[{','.join(cells)}]",
            f"profile.iters={iters}", f"profile.checkpoint={every}", "noise_seeds=1",
            "report=false", "trackers=[]", f"sweeps_root={root}",
            f"results_root={root.parent / 'results'}", *extra]


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


def check_end(cells, ref, got, iters) -> dict:
    """The invariants read from the records at the end: done, equal metrics, torn."""
    done = sum((records.read_status(rd) or {}).get("state") == records.DONE
               for rd in got.values())
    same = torn = 0
    for cell in cells:
        m_ref = records.read_json(ref[cell] / records.METRICS)
        m_got = records.read_json(got[cell] / records.METRICS)
        same += m_ref is not None and m_ref == m_got
        try:
            rows = records.read_jsonl(got[cell] / "scalars.jsonl")
            torn += [r["iter"] for r in rows] != list(range(1, iters + 1))
            torn += records.read_status(got[cell]) is None
        except (OSError, ValueError):
            torn += 1
    left = sum(1 for rd in got.values() for _ in checkpoints(rd / "mmdet"))
    return {"done": done, "metrics_equal_reference": same, "torn_records": torn,
            "checkpoints_left_at_end": left}


def slurm_chaos(a, rng, root: Path, cells: list[str], env: dict) -> int:
    sys.path.insert(0, str(ROOT / "tests"))
    from slurm_cluster import LocalSlurm, missing  # noqa: E402

    if missing():
        print(f"--slurm: {missing()}", file=sys.stderr)
        return 2
    t0 = time.monotonic()
    whole = subprocess.run(sweep_cmd(cells, root / "whole", a.iters, a.checkpoint), cwd=ROOT,
                           env=env, capture_output=True, text=True)
    t_whole = time.monotonic() - t0
    print(f"reference sweep (local): exit {whole.returncode}, {t_whole:.0f} s", flush=True)
    os.chmod(root, 0o755)  # munged (user munge) must reach the cluster's folder
    (root / "cluster").mkdir(exist_ok=True)
    cluster = LocalSlurm(root / "cluster").start()
    env = {**env, **cluster.env}
    chaos = root / "chaos"
    dirs = run_dirs(chaos, cells)
    cmd = sweep_cmd(cells, chaos, a.iters, a.checkpoint, "hydra/launcher=slurm",
                    f"hydra.launcher.array_parallelism={a.parallel}")
    try:
        t1 = time.monotonic()
        first = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
        print(f"launch: exit {first.returncode}", flush=True)

        def running() -> dict[str, str]:
            """cell -> its running array task's id."""
            ids = set(cluster.run("squeue", "-h", "-r", "-t", "RUNNING", "-o", "%i").split())
            out = {}
            for cell, rd in dirs.items():
                job = (records.read_json(rd / "claim.json") or {}).get("slurm_job_id")
                if job in ids and (records.read_status(rd) or {}).get("state") == "running":
                    out[cell] = job
            return out

        hits = []  # (cell, action, resume point when hit)
        done_at = {}  # cell -> its done record's end time, the first time seen done
        reran = 0

        def watch() -> None:
            nonlocal reran
            for cell, (state, ended) in snapshot(dirs).items():
                if state == "done":
                    if cell in done_at and done_at[cell] != ended:
                        reran += 1
                    done_at.setdefault(cell, ended)

        def mid_training() -> bool:
            return any(0 < (resume_point(dirs[c] / "mmdet") or (0, 0))[1] <= a.iters // 2
                       for c in running())

        # The scancel comes third, once a cell is mid-training (SLURM's grace would let
        # a cell near its end finish, and nothing would be lost); the requeues at random.
        actions = ["requeue"] * a.requeues
        actions.insert(min(2, a.requeues), "scancel")
        for action in actions:
            end = time.monotonic() + rng.uniform(2, 20)
            give_up = time.monotonic() + 180
            while time.monotonic() < end or not running() or (
                    action == "scancel" and not mid_training() and time.monotonic() < give_up):
                watch()
                if len(done_at) == len(cells):
                    break
                time.sleep(0.5)
            now = running()
            if not now:
                print(f"{action}: nothing running any more", flush=True)
                break
            # Hit a cell mid-training where one is (a checkpoint made, the end far enough
            # off that SLURM's grace, KillWait plus srun's wait, does not let it finish).
            points = {c: resume_point(dirs[c] / "mmdet") for c in now}
            points = {c: None if p is None else p[1] for c, p in points.items()}
            mid = sorted(c for c, p in points.items() if p and p <= a.iters // 2)
            cell = rng.choice(mid or sorted(now))
            point = points[cell]
            at = datetime.now(timezone.utc).replace(microsecond=0)
            cluster.run("scontrol", "requeue", now[cell]) if action == "requeue" else \
                cluster.run("scancel", now[cell])
            hits.append((cell, action, point, now[cell], at))
            print(f"{action} {now[cell]} ({cell}) at checkpoint {point}", flush=True)
        while cluster.run("squeue", "-h", "-o", "%i").strip():
            watch()
            time.sleep(0.5)
        watch()
        cancelled = [h for h in hits if h[1] == "scancel"]
        status = subprocess.run([sys.executable, "-m", "repro.status", "table=1",
                                 f"sweeps_root={chaos}", "noise_seeds=1"], cwd=ROOT, env=env,
                                capture_output=True, text=True)
        lost_shown = [c for c, *_ in cancelled
                      if re.search(rf"^{re.escape(c)}\s+0\s+lost", status.stdout, re.M)]
        print(status.stdout, flush=True)
        again = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
        print(f"relaunch: exit {again.returncode}: {again.stdout.strip().splitlines()[-1:]}",
              flush=True)
        while cluster.run("squeue", "-h", "-o", "%i").strip():
            watch()
            time.sleep(0.5)
        watch()
        t_slurm = time.monotonic() - t1
    finally:
        cluster.stop()
    # A hit cell must have resumed at or after the checkpoint it had when it was hit
    # (a restart from 0 after a checkpoint: resumed_from below that point).
    # An attempt that started before the hit and ended done finished within SLURM's grace
    # (the hit came too late to stop it): no resume to check.
    restarted = finished_in_grace = 0
    for cell, _, point, _, at in hits:
        s = records.read_status(dirs[cell]) or {}
        if datetime.fromisoformat(s["started"]) <= at:
            finished_in_grace += 1
            continue
        restarted += bool(point) and (s.get("resumed_from") or 0) < point
    resumed = {c: (records.read_status(dirs[c]) or {}).get("resumed_from") for c, *_ in hits}
    summary = {"cells": len(cells), "requeues": sum(h[1] == "requeue" for h in hits),
               "scancels": len(cancelled),
               "hits": [{"cell": c, "action": act, "task": job, "checkpoint_at_hit": p,
                         "final_resumed_from": resumed[c]} for c, act, p, job, _ in hits],
               "hit_attempts_that_finished_within_the_grace": finished_in_grace,
               "scancelled_shown_lost": len(lost_shown),
               **check_end(cells, run_dirs(root / "whole", cells), dirs, a.iters),
               "done_cells_rerun": reran, "restarts_from_0_after_a_checkpoint": restarted,
               "launch_exit": first.returncode, "relaunch_exit": again.returncode,
               "reference_exit": whole.returncode, "reference_seconds": round(t_whole),
               "slurm_seconds": round(t_slurm), "seconds": round(time.monotonic() - t0),
               "root": str(root)}
    (root / "summary.json").write_text(json.dumps(summary, indent=2))
    print(json.dumps(summary, indent=2))
    ok = (summary["done"] == summary["metrics_equal_reference"] == len(cells)
          and summary["torn_records"] == reran == restarted == 0
          and summary["checkpoints_left_at_end"] == 0 and len(cancelled) == 1
          and len(lost_shown) == 1 and summary["requeues"] == a.requeues
          and first.returncode == again.returncode == whole.returncode == 0)
    return 0 if ok else 1


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cells", type=int, default=12)
    ap.add_argument("--kills", type=int, default=10)
    ap.add_argument("--iters", type=int, default=8)
    ap.add_argument("--checkpoint", type=int, default=2)
    ap.add_argument("--seed", type=int, default=12)
    ap.add_argument("--root", type=Path, default=None)
    ap.add_argument("--slurm", action="store_true", help="on a real one-node SLURM")
    ap.add_argument("--requeues", type=int, default=5, help="--slurm: scontrol requeues")
    ap.add_argument("--parallel", type=int, default=2, help="--slurm: array tasks at once")
    a = ap.parse_args()
    rng = random.Random(a.seed)
    root = a.root or Path(tempfile.mkdtemp(prefix="chaos-"))
    spec = load_table("1")
    cells = [c.id for c in spec.cells() if c.column.id == "voc_sgd_l1"][:a.cells]
    env = {**os.environ, "REPRO_DATA_ROOT": str(ROOT / "data")}
    if a.slurm:
        return slurm_chaos(a, rng, root, cells, env)

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

    end = check_end(cells, run_dirs(root / "whole", cells), dirs, a.iters)
    summary = {"cells": len(cells), "kills": a.kills, "caught": caught,
               "torn_checkpoints_left_by_kills": torn_ckpts,
               "record_temp_files_left_by_kills": temp_records, **end,
               "done_cells_rerun": reran, "restarts_from_0_after_a_checkpoint": restarted,
               "final_exit": last.returncode,
               "reference_exit": whole.returncode, "reference_seconds": round(t_whole),
               "seconds": round(time.monotonic() - t0), "root": str(root), "kill_log": kills}
    (root / "summary.json").write_text(json.dumps(summary, indent=2))
    print(json.dumps({k: v for k, v in summary.items() if k != "kill_log"}, indent=2))
    ok = (end["done"] == end["metrics_equal_reference"] == len(cells)
          and end["torn_records"] == reran == restarted == end["checkpoints_left_at_end"] == 0
          and last.returncode == 0 and whole.returncode == 0)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
