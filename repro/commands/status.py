"""python -m repro.status [table=1|all] [profile=smoke] [sweeps_root=sweeps] [seeds=N|[0,3]]
[noise_seeds=N] [summary=false]

Where a sweep stands, from the run records: each cell x seed as done, failed(reason),
running, lost (the record says running, but no process runs it: its claim is stale, the
worker or SLURM job is gone; SLURM's accounting word when sacct has one, e.g.
lost(OUT_OF_MEMORY); the next launch resumes it), corrupt(problem), queued (no record
yet, but a launch claimed it: the SLURM job that will run it, repro/launch/claims.py) or
pending (nothing yet), where it ran (host, pid, SLURM job), how long it took or has been
running, and a count line. The record is the truth: a job SLURM calls COMPLETED whose
record says failed is failed; SLURM is asked only whether a `running` one still runs. The seeds expected per cell are those the sweep
runs (repro/sweep/expand.py::cell_seeds): seeds= (as given to the sweep; by default every
seed that has a folder in a cell other than the reference cells), and for the reference
cells also 0..noise_seeds-1 (the profile's default, conf/profile/<name>.yaml). Each table also has a one-line
summary (its runs' counts, the failures by class, the share finished): table=all ends
with them, and summary=true prints only those lines.
"""
from __future__ import annotations

import sys
from collections import Counter
from datetime import datetime, timezone

import pandas as pd
import yaml

from repro.commands import args as cli
from repro.core import outcomes
from repro.core.errors import ReproError
from repro.core.paths import CONF_DIR
from repro.launch import claims
from repro.launch.accounting import final_states
from repro.report.collect import collect, table_dir
from repro.sweep.expand import cell_seeds, parse_seeds
from repro.table.spec import TableSpec

DEFAULTS = {"table": "all", "profile": "smoke", "sweeps_root": "sweeps", "seeds": "",
            "noise_seeds": "",
            "summary": "false"}
ORDER = ("done", "failed", "running", "lost", "queued", "corrupt", "pending")


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
    return outcomes.label(rec["state"], rec["reason"] if _known(rec.get("reason")) else None,
                          rec.get("problem"))


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


def _seeds(value: str, frame: pd.DataFrame, spec: TableSpec) -> list[int]:
    if value:
        try:
            return parse_seeds(yaml.safe_load(value))
        except yaml.YAMLError:
            raise ReproError(f"seeds={value}: give a count (seeds=3) or a list "
                             f"(seeds=[0,1,2])") from None
    if frame.empty:
        return [0]
    noisy = {c.id for c in spec.noise_cells()}
    plain = frame[[f"{r}__{c}" not in noisy for r, c in zip(frame.row, frame.column)]]
    return sorted({0, *(int(s) for s in plain.seed)})


def _noise_seeds(value: str, profile: str) -> int:
    if value:
        try:
            return int(value)
        except ValueError:
            raise ReproError(f"noise_seeds={value}: give a count >= 1 (noise_seeds=5)") from None
    path = CONF_DIR / "profile" / f"{profile}.yaml"
    entry = yaml.safe_load(path.read_text()) if path.is_file() else {}
    return int((entry or {}).get("noise_seeds", 1))


def table_status(spec: TableSpec, *, profile: str, sweeps_root, seeds: str = "",
                 now: datetime | None = None, noise_seeds: str = "") -> list[str]:
    return _table(spec, profile=profile, sweeps_root=sweeps_root, seeds=seeds, now=now,
                  noise_seeds=noise_seeds)[0]


def _table(spec: TableSpec, *, profile: str, sweeps_root, seeds: str = "",
           now: datetime | None = None, noise_seeds: str = "") -> tuple[list[str], str]:
    """The table's lines (a header, one per cell x seed, the counts) and its one-line
    summary."""
    now = now or datetime.now(timezone.utc)
    frame = collect(spec, profile=profile, sweeps_root=sweeps_root)
    found = {(r["row"], r["column"], r["seed"]): r for r in frame.to_dict("records")}
    wanted = _seeds(seeds, frame, spec)
    per_cell = cell_seeds(spec, wanted, _noise_seeds(noise_seeds, profile))
    cells = spec.cells()
    width = max(len(c.id) for c in cells)
    lines = [f"{spec.paper} Table {spec.number} ({spec.id}), {profile} profile: "
             f"{table_dir(spec, profile=profile, sweeps_root=sweeps_root)}",
             f"{'cell':<{width}}  seed  {'state':<16}  {'where':<28}  time"]
    counts: Counter = Counter()
    reasons: Counter = Counter()
    keys = [(c.row.id, c.column.id, s) for c in cells for s in per_cell[c.id]]
    extra = sorted(set(found) - set(keys))  # seeds beyond what the sweep runs
    keys += extra
    folder = table_dir(spec, profile=profile, sweeps_root=sweeps_root)
    _mark_lost(found, folder)
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
        if rec and rec["state"] == "failed":
            reasons[rec["reason"] if _known(rec.get("reason")) else "unknown"] += 1
        where, took = (_where(rec), _time(rec, now)) if rec else ("-", "-")
        lines.append(f"{row + '__' + col:<{width}}  {seed:>4}  {state:<16}  {where:<28}  {took}")
    tally = ", ".join(f"{counts[s]} {s}" for s in ORDER
                      if counts[s] or s not in ("lost", "queued", "corrupt"))
    refs = [c for c in cells if len(per_cell[c.id]) > len(wanted)]
    noise = f"; {len(refs)} reference cells seeds 0-{max(per_cell[refs[0].id])}" if refs else ""
    lines.append(f"{len(keys)} runs ({len(cells)} cells x {len(wanted)} seed"
                 f"{'s' if len(wanted) > 1 else ''}{noise}): {tally}")
    return lines, summary_line(spec, len(keys), counts, reasons)


def _mark_lost(found: dict, folder) -> None:
    """A `running` record whose claim is gone or stale (its process or SLURM job ended
    without an outcome: OOM killer, scancel, node failure) is `lost`."""
    running = {k: r for k, r in found.items() if r["state"] == "running"}
    held = {k: claims.read(folder / f"{k[0]}__{k[1]}" / f"seed{k[2]}") for k in running}
    live = claims.Liveness()
    live.prefetch(held.values())
    gone = [k for k in running if held[k] is None or live(held[k]) is False]
    ids = [str(running[k].get("slurm_job_id")) for k in gone if _known(running[k].get("slurm_job_id"))]
    said = final_states(ids)
    for k in gone:
        found[k] = {**running[k], "state": outcomes.LOST,
                    "problem": said.get(str(running[k].get("slurm_job_id")))}


def summary_line(spec: TableSpec, runs: int, counts: Counter, reasons: Counter) -> str:
    """`table2   ALWA Table 2    84 runs: 80 done, 2 failed (nan 2), ... - 98% finished`"""
    tally = ", ".join(f"{counts[s]} {s}" + (
        f" ({', '.join(f'{r} {n}' for r, n in sorted(reasons.items()))})"
        if s == "failed" and reasons else "")
        for s in ORDER if counts[s] or s not in ("lost", "queued", "corrupt"))
    finished = counts["done"] + counts["failed"]
    share = f"{100 * finished / runs:.0f}%" if runs else "-"
    return (f"{spec.id:<9} {spec.paper + ' Table ' + str(spec.number):<14} {runs:>5} runs: "
            f"{tally} - {share} finished")


def main(argv: list[str] | None = None, now: datetime | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if cli.wants_help(argv, __doc__):
        return 0
    try:
        a = cli.parse(argv, "python -m repro.status", DEFAULTS)
        specs = cli.tables(a["table"])
        brief = cli.flag(a["summary"], "summary")
        cli.profile_dir(a["sweeps_root"], a["profile"])
        tables = [_table(s, profile=a["profile"], sweeps_root=a["sweeps_root"],
                         seeds=a["seeds"], now=now, noise_seeds=a["noise_seeds"])
                  for s in specs]
    except ReproError as e:
        return cli.fail(e)
    summaries = [summary for _, summary in tables]
    if brief:
        print("\n".join(summaries))
        return 0
    print("\n\n".join("\n".join(lines) for lines, _ in tables))
    if len(tables) > 1:  # table=all: the tables' summaries close the output
        print(f"\nSummary, {a['profile']} profile ({a['sweeps_root']}):")
        print("\n".join(summaries))
    return 0

