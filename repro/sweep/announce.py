"""What a sweep says before its first job starts: the cells and seeds, what it skips and
why, and how it will run the rest (workers or SLURM, where the logs and curves go)."""
from __future__ import annotations

from collections import Counter
from pathlib import Path

from repro.core import records
from repro.sweep.console import shown_path
from repro.sweep.expand import Job
from repro.table.spec import TableSpec


def seed_list(seeds: list[int]) -> str:
    seeds = sorted(seeds)
    if len(seeds) == 1:
        return f"seed {seeds[0]}"
    if seeds == list(range(seeds[0], seeds[-1] + 1)):
        return f"seeds {seeds[0]}-{seeds[-1]}"
    return "seeds " + ",".join(str(s) for s in seeds)


def _seeds(jobs: list[Job]) -> str:
    per_cell: dict[str, list[int]] = {}
    for j in jobs:
        per_cell.setdefault(j.cell.id, []).append(j.seed)
    kinds = Counter(tuple(sorted(s)) for s in per_cell.values())
    (common, _), *others = kinds.most_common()
    text = seed_list(list(common))
    for seeds, n in others:  # the reference cells' extra seeds (noise_seeds)
        text += f"; {n} reference cell{'s' if n > 1 else ''} {seed_list(list(seeds))}"
    cells = len(per_cell)
    return f"{cells} cell{'s' if cells > 1 else ''} x {text}"


def before_launch(spec: TableSpec, profile: str, jobs: list[Job], todo: list[Job],
                  states: Counter, *, retry_failed: bool, force: bool) -> list[str]:
    done, failed = states[records.DONE], states[records.FAILED]
    lines = [f"{spec.paper} Table {spec.number} ({spec.id}), {profile} profile: "
             f"{_seeds(jobs)} -> {len(jobs)} jobs, {done} done, {len(todo)} to run"]
    if force and jobs:
        lines.append("force=true: every selected job runs again, done ones included")
    elif done or failed:
        skipped = [f"{done} done"] if done else []
        if failed and not retry_failed:
            skipped.append(f"{failed} failed (a diverged run is a result; retry_failed=true "
                           f"reruns them)")
        if skipped:
            lines.append(f"skipped: {', '.join(skipped)}")
    resumed = sum(1 for j in todo
                  if (records.read_status(j.run_dir) or {}).get("state") == records.RUNNING)
    if resumed:
        lines.append(f"{resumed} interrupted job(s) resume from their last checkpoint")
    return lines


def jobs(n: int) -> str:
    return f"{n} job{'s' if n != 1 else ''}"


def how(n: int, launcher: str, workers, table_dir: Path, *, verbose: bool) -> str:
    where = shown_path(table_dir)
    if launcher == "slurm":
        return f"submitting {jobs(n)} to SLURM (hydra/launcher=slurm); run folders: {where}"
    at_once = min(n, int(workers)) if isinstance(workers, int) else workers
    logs = "on this console (verbose=true)" if verbose else \
        "in each run folder's run.log (verbose=true prints it here)"
    return (f"running {jobs(n)}, {at_once} at a time (local workers); run folders: {where}; "
            f"MMDetection's log: {logs}")
