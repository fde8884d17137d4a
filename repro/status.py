"""python -m repro.status [table=1|all] [profile=smoke] [sweeps_root=sweeps] [seeds=N|[0,3]]

Where a sweep stands, from the run records only (never the launcher or SLURM): each
cell x seed as done, failed(reason), running, corrupt(problem), queued (no record yet,
but a launch claimed it: the SLURM job that will run it, repro/launch/claims.py) or
pending (nothing yet), where it ran (host, pid, SLURM job), how long it took or has been
running, and a count line. SLURM's own word is never asked: a job SLURM calls COMPLETED
whose record says failed is failed. The seeds expected per cell are seeds= (as given to the sweep), or else
every seed that has a folder anywhere in the table.
"""
from __future__ import annotations

import sys
from collections import Counter
from datetime import datetime, timezone

import pandas as pd
import yaml

from repro.errors import ReproError
from repro.launch import claims
from repro.report import args as cli
from repro.report.collect import collect, table_dir
from repro.sweep.expand import parse_seeds
from repro.table.spec import TableSpec

DEFAULTS = {"table": "all", "profile": "smoke", "sweeps_root": "sweeps", "seeds": ""}
ORDER = ("done", "failed", "running", "queued", "corrupt", "pending")


def duration(seconds) -> str:
    if seconds is None or pd.isna(seconds):
        return "-"
    s = int(round(float(seconds)))
    if s < 60:
        return f"{float(seconds):.1f}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s // 3600}h{s % 3600 // 60:02d}m"


def _where(rec: dict) -> str:
    parts = [str(rec["host"]) if _known(rec.get("host")) else ""]
    if _known(rec.get("pid")):
        parts.append(f"pid {int(rec['pid'])}")
    if _known(rec.get("slurm_job_id")):
        parts.append(f"slurm {rec['slurm_job_id']}")
    return " ".join(p for p in parts if p) or "-"


def _known(v) -> bool:
    return v is not None and not (isinstance(v, float) and pd.isna(v)) and v != ""


def _state(rec: dict) -> str:
    if rec["state"] == "failed":
        return f"failed({rec['reason'] if _known(rec.get('reason')) else 'unknown'})"
    if rec["state"] == "corrupt":
        return f"corrupt({rec['problem']})"
    return rec["state"]


def _time(rec: dict, now: datetime) -> str:
    if rec["state"] in ("running", "queued") and _known(rec.get("started")):
        try:
            started = datetime.fromisoformat(str(rec["started"]))
        except ValueError:
            return "-"
        if started.tzinfo is None:
            started = started.replace(tzinfo=timezone.utc)
        return f"for {duration((now - started).total_seconds())}"
    return duration(rec.get("seconds"))


def _seeds(value: str, frame: pd.DataFrame) -> list[int]:
    if value:
        try:
            return parse_seeds(yaml.safe_load(value))
        except yaml.YAMLError:
            raise ReproError(f"seeds={value}: give a count (seeds=3) or a list "
                             f"(seeds=[0,1,2])") from None
    return sorted({0, *(int(s) for s in frame.seed)})


def table_status(spec: TableSpec, *, profile: str, sweeps_root, seeds: str = "",
                 now: datetime | None = None) -> list[str]:
    now = now or datetime.now(timezone.utc)
    frame = collect(spec, profile=profile, sweeps_root=sweeps_root)
    found = {(r["row"], r["column"], r["seed"]): r for r in frame.to_dict("records")}
    wanted = _seeds(seeds, frame)
    cells = spec.cells()
    width = max(len(c.id) for c in cells)
    lines = [f"{spec.paper} Table {spec.number} ({spec.id}), {profile} profile: "
             f"{table_dir(spec, profile=profile, sweeps_root=sweeps_root)}",
             f"{'cell':<{width}}  seed  {'state':<16}  {'where':<28}  time"]
    counts: Counter = Counter()
    extra = sorted(k for k in found if k[2] not in wanted)  # seeds beyond seeds=
    keys = [(c.row.id, c.column.id, s) for c in cells for s in wanted] + extra
    folder = table_dir(spec, profile=profile, sweeps_root=sweeps_root)
    for row, col, seed in keys:
        rec = found.get((row, col, seed))
        if rec is None:  # a claim without a record: queued (or starting)
            claim = claims.read(folder / f"{row}__{col}" / f"seed{seed}")
            rec = {"state": "queued", "started": claim.get("since"), **{
                k: claim.get(k) for k in ("host", "pid", "slurm_job_id")}} if claim else None
            if rec and rec["slurm_job_id"]:  # queued on SLURM: the launcher's pid is moot
                rec.update(host=None, pid=None)
        state = _state(rec) if rec else "pending"
        counts[rec["state"] if rec else "pending"] += 1
        where, took = (_where(rec), _time(rec, now)) if rec else ("-", "-")
        lines.append(f"{row + '__' + col:<{width}}  {seed:>4}  {state:<16}  {where:<28}  {took}")
    tally = ", ".join(f"{counts[s]} {s}" for s in ORDER
                      if counts[s] or s not in ("queued", "corrupt"))
    lines.append(f"{len(keys)} runs ({len(cells)} cells x {len(wanted)} seed"
                 f"{'s' if len(wanted) > 1 else ''}): {tally}")
    return lines


def main(argv: list[str] | None = None, now: datetime | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if cli.wants_help(argv, __doc__):
        return 0
    try:
        a = cli.parse(argv, "python -m repro.status", DEFAULTS)
        specs = cli.tables(a["table"])
        cli.profile_dir(a["sweeps_root"], a["profile"])
        blocks = [table_status(s, profile=a["profile"], sweeps_root=a["sweeps_root"],
                               seeds=a["seeds"], now=now) for s in specs]
    except ReproError as e:
        return cli.fail(e)
    print("\n\n".join("\n".join(b) for b in blocks))
    return 0


if __name__ == "__main__":
    sys.exit(main())
