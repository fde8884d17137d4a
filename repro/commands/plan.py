"""python -m repro.plan table=N [profile=smoke|paper] [launcher=local|slurm] [seeds=N]
[noise_seeds=N] [cells=PATTERN] [sweeps_root=sweeps] [gpu=v100|a100|h100|h200] [s_per_iter=S]
[retry_failed=false] [force=false]

Price a table before running it: every cell and seed with its state (done, failed,
running, pending) from the run records, which of them a launch would run and how it
would submit them (local worker processes, or SLURM job arrays with their size,
parallelism and GPUs per job), and what they cost: GPU-hours under the paper profile
(iterations from the dataset and the profile's batch, times a seconds-per-iteration
figure per detector and GPU type from conf/cost.yaml, overridable here), CPU minutes
under the smoke profile (measured seconds per cell, conf/cost.yaml). It also prices the
table's noise estimate: the runs its reference cells add with `noise_seeds` seeds (the
profile's default: 5 under smoke, 1 under paper), or what noise_seeds=3 would cost.

Pure: YAML and the run records only (no Hydra composition, no torch, no mmdet), so it
answers in well under a second for any table.
"""
from __future__ import annotations

import fnmatch
import math
import os
import re
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import yaml

from repro.commands import args as cli
from repro.core import records
from repro.core.errors import ReproError
from repro.core.paths import CONF_DIR
from repro.sweep.expand import expand
from repro.table.spec import TableSpec

DEFAULTS = {"table": "all", "profile": "smoke", "launcher": "local", "seeds": "1",
            "noise_seeds": "", "cells": "", "sweeps_root": "sweeps", "gpu": "", "s_per_iter": "",
            "retry_failed": "false", "force": "false"}
GROUPS = ("detector", "dataset")


def _yaml(path: Path) -> dict:
    with open(path) as f:
        return yaml.safe_load(f) or {}


def _entry(group: str, name: str) -> dict:
    """A config-group entry as plain YAML, with its own `defaults: [base]` merged in."""
    path = CONF_DIR / group / f"{name}.yaml"
    if not path.is_file():
        known = sorted(p.stem for p in (CONF_DIR / group).glob("*.yaml"))
        raise ReproError(f"unknown {group} {name!r}; {group}s: {', '.join(known)}")
    d = _yaml(path)
    merged: dict = {}
    for base in d.pop("defaults", []) or []:
        if isinstance(base, str) and base != "_self_":
            merged.update(_entry(group, base))
    return {**merged, **d}


def _default_choices() -> dict:
    out = {}
    for item in _yaml(CONF_DIR / "config.yaml").get("defaults", []):
        if isinstance(item, dict):
            (k, v), = item.items()
            if k in GROUPS:
                out[k] = v
    return out


def _glob(table: dict, name: str, what: str):
    for pattern, value in table.items():
        if fnmatch.fnmatchcase(name, str(pattern)):
            return value
    raise ReproError(f"conf/cost.yaml has no {what} for {name!r} (and no '*' entry)")


_INTERP = re.compile(r"\$\{oc\.env:([A-Za-z_]+),([^}]*)\}")


def _plain(value):
    """${oc.env:VAR,default} -> its value; other values unchanged."""
    if isinstance(value, str):
        m = _INTERP.fullmatch(value.strip())
        if m:
            return yaml.safe_load(os.environ.get(m.group(1), m.group(2)))
    return value


@dataclass
class Run:
    cell: str
    seed: int
    state: str  # done | failed(<reason>) | running | pending
    detector: str
    dataset: dict
    gpus: int
    images_per_gpu: int
    would_run: bool
    cost: float = 0.0  # seconds (smoke: CPU) or GPU-hours (paper)
    noise: bool = False  # a run only the noise estimate asks for (a reference cell's extra seed)


def _state(run_dir: Path) -> str:
    status = records.read_status(run_dir)
    if not status:
        return "pending"
    if status.get("state") == records.FAILED:
        return f"failed({status.get('reason', 'unknown')})"
    return str(status.get("state", "pending"))


def _would_run(state: str, retry_failed: bool, force: bool) -> bool:
    """What a launch would run (repro.sweep.expand.pending): runs without a record, and
    interrupted ones (`running`: they resume, unless their job still holds the cell);
    failed ones with retry_failed; everything with force."""
    if force:
        return True
    if state.startswith("failed"):
        return retry_failed
    return state != records.DONE


def noise_seeds(a: dict, profile: dict):
    return yaml.safe_load(a["noise_seeds"]) if a["noise_seeds"] else profile.get("noise_seeds", 1)


def runs(spec: TableSpec, a: dict, profile: dict, noise: int | None = None) -> list[Run]:
    seeds = yaml.safe_load(a["seeds"]) if a["seeds"] else 1
    cells = [c for c in a["cells"].split(",") if c] or None
    chosen = _default_choices()
    plain = {j.run_dir for j in expand(spec, profile=a["profile"], sweeps_root=a["sweeps_root"],
                                       seeds=seeds, cells=cells)}
    out = []
    for job in expand(spec, profile=a["profile"], sweeps_root=a["sweeps_root"],
                      seeds=seeds, cells=cells,
                      noise_seeds=noise_seeds(a, profile) if noise is None else noise):
        over = dict(chosen)
        prof = dict(profile)
        for o in job.overrides:
            key, _, value = o.partition("=")
            if key in GROUPS:
                over[key] = value
            elif key.startswith("profile."):
                prof[key.split(".", 1)[1]] = yaml.safe_load(value)
        state = _state(job.run_dir)
        out.append(Run(job.cell.id, job.seed, state, over["detector"],
                       _entry("dataset", over["dataset"]), int(prof.get("gpus") or 0),
                       int(prof["images_per_gpu"]),
                       _would_run(state, cli.flag(a["retry_failed"], "retry_failed"),
                                  cli.flag(a["force"], "force")), noise=job.run_dir not in plain))
    return out


def paper_iterations(run: Run, cost: dict) -> int:
    ds = run.dataset
    if ds["family"] == "voc":
        images = sum(cost["images"][s] for s in ds["train_sets"])
    else:
        images = cost["images"]["coco"]
    batch = max(run.gpus, 1) * run.images_per_gpu
    return math.ceil(images * ds.get("repeat", 1) / batch) * int(ds["epochs"])


def price(items: list[Run], a: dict, cost: dict) -> list[str]:
    """Fill each run's cost; return the lines explaining the figures used."""
    if a["profile"] != "paper":
        for r in items:
            r.cost = float(_glob(cost["smoke"]["s_per_cell"], r.detector, "s_per_cell"))
        return []
    paper = cost["paper"]
    gpu = a["gpu"] or paper["gpu"]
    if gpu not in paper["gpu_factor"]:
        raise ReproError(f"gpu={gpu}: conf/cost.yaml knows {', '.join(paper['gpu_factor'])}; "
                         f"add a factor there or pick one of those")
    notes = {}
    for r in items:
        s = float(a["s_per_iter"]) if a["s_per_iter"] else float(
            _glob(paper["s_per_iter"], r.detector, "s_per_iter"))
        # The figures are for 2 images per GPU; a GPU's time grows with its images.
        s *= paper["gpu_factor"][gpu] * paper["dataset_factor"][r.dataset["family"]] \
            * r.images_per_gpu / 2
        it = paper_iterations(r, paper)
        hours = it * s / 3600 + paper["test_hours"][r.dataset["family"]]
        r.cost = hours * max(r.gpus, 1)
        notes[(r.detector, r.dataset["name"], r.gpus)] = (
            f"  {r.detector} on {r.dataset['name']}: {it:,} iterations x {s:.3f} s "
            f"({gpu}) + test = {hours:.1f} h x {max(r.gpus, 1)} GPUs = {r.cost:.1f} GPU-h per run")
    return list(notes.values())


def _launcher_lines(todo: list[Run], a: dict, profile: dict) -> list[str]:
    if not todo:
        return ["Nothing to run: every selected run is done or failed "
                "(retry_failed=true reruns failed ones, force=true everything)."]
    if a["launcher"] == "slurm":
        # The profile's `slurm:` block feeds conf/hydra/launcher/slurm.yaml.
        par = (profile.get("slurm") or {}).get("array_parallelism") or "unlimited"
        gpus = sorted({max(r.gpus, 1) for r in todo})
        per_job = " or ".join(f"{g} task{'s' if g > 1 else ''} x 1 GPU" for g in gpus) \
            if a["profile"] == "paper" else "1 CPU task"
        return [f"Would submit {len(todo)} runs to SLURM as one job array of {len(todo)} "
                f"tasks (at most {par} at once), each job {per_job} "
                f"(profile.slurm, conf/hydra/launcher/slurm.yaml)."]
    n = int(os.environ.get("REPRO_LOCAL_JOBS", "2"))
    return [f"Would run {len(todo)} runs on this machine, {n} at a time "
            f"(REPRO_LOCAL_JOBS={n})."]


def plan(spec: TableSpec, a: dict) -> list[str]:
    profile = {k: _plain(v) for k, v in _entry("profile", a["profile"]).items()}
    items = runs(spec, a, profile)
    cost = _yaml(CONF_DIR / "cost.yaml")
    notes = price(items, a, cost)
    paper = a["profile"] == "paper"
    width = max(len(r.cell) for r in items)
    unit = "GPU-h" if paper else "CPU s"
    lines = [f"{spec.paper} Table {spec.number} ({spec.id}), {a['profile']} profile, "
             f"launcher {a['launcher']}",
             f"{'cell':<{width}}  seed  {'state':<16}  {'detector':<22}  run?  {unit:>7}"]
    for r in items:
        run = ("yes*" if r.state == records.RUNNING else "yes") if r.would_run else "-"
        lines.append(f"{r.cell:<{width}}  {r.seed:>4}  {r.state:<16}  {r.detector:<22}  "
                     f"{run:<4}  {r.cost:>7.1f}")
    counts = Counter(r.state.split("(")[0] for r in items)
    lines.append(f"{len(items)} runs: " + ", ".join(
        f"{counts[s]} {s}" for s in ("done", "failed", "running", "pending")))
    todo = [r for r in items if r.would_run]
    if any(r.state == records.RUNNING for r in todo):
        lines.append("* running: resumes from its checkpoint unless a live job still holds "
                     "it (python -m repro.status shows which)")
    lines += _launcher_lines(todo, a, profile)
    lines += _noise_lines(spec, a, profile, items, cost, unit)
    total = sum(r.cost for r in todo)
    if paper:
        lines.append(f"Cost of the runs to go: {total:,.0f} GPU-hours "
                     f"(whole table: {sum(r.cost for r in items):,.0f}); per run:")
        lines += notes
    else:
        n = int(os.environ.get("REPRO_LOCAL_JOBS", "2"))
        lines.append(f"Cost of the runs to go: {total / 60:.1f} CPU-minutes, about "
                     f"{total / 60 / n:.1f} minutes of wall time at {n} at a time "
                     f"(measured seconds per cell, conf/cost.yaml)")
    return lines


def _noise_lines(spec: TableSpec, a: dict, profile: dict, items: list[Run], cost: dict,
                 unit: str) -> list[str]:
    """What the table's noise estimate costs (repro/report/noise.py): its reference cells'
    extra seeds, included above; or, with noise_seeds=1, what 3 would cost."""
    k = int(noise_seeds(a, profile))
    refs = len({r.cell for r in items} & {c.id for c in spec.noise_cells()})
    if not refs:
        return ["Noise estimate: this table has no reference cells (nor noise_rows); "
                "seeds=3 measures the noise on every cell."]
    extra = [r for r in items if r.noise]
    if k > 1 or extra:
        spent = sum(r.cost for r in extra)
        return [f"Noise estimate: {refs} reference cells x seeds 0..{k - 1} = {len(extra)} "
                f"extra runs, {_amount(spent, unit)} of the cost below (noise_seeds={k})."]
    what_if = [r for r in runs(spec, a, profile, noise=3) if r.noise]
    price(what_if, a, cost)
    return [f"Noise estimate: none (noise_seeds=1: one seed per reference cell, every "
            f"verdict inconclusive); noise_seeds=3 would add {len(what_if)} runs of the "
            f"{refs} reference cells, {_amount(sum(r.cost for r in what_if), unit)}."]


def _amount(cost: float, unit: str) -> str:
    return f"{cost:,.0f} GPU-hours" if unit == "GPU-h" else f"{cost / 60:.1f} CPU-minutes"


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if cli.wants_help(argv, __doc__):
        return 0
    argv = [a.replace("hydra/launcher=", "launcher=", 1) for a in argv]
    try:
        a = cli.parse(argv, "python -m repro.plan", DEFAULTS)
        if a["launcher"] not in ("local", "slurm"):
            raise ReproError(f"launcher={a['launcher']}: use launcher=local or launcher=slurm")
        blocks = [plan(s, a) for s in cli.tables(a["table"])]
    except (ReproError, yaml.YAMLError) as e:
        return cli.fail(e if isinstance(e, ReproError) else ReproError(str(e)))
    print("\n\n".join("\n".join(b) for b in blocks))
    return 0

