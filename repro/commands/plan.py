"""python -m repro.plan table=N [profile=smoke|paper] [launcher=local|slurm] [seeds=N]
[noise_seeds=N] [cells=PATTERN] [sweeps_root=sweeps] [gpu=v100|a100|h100|h200] [s_per_iter=S]
[retry_failed=false] [force=false] [keep_weights=false]

Price a table before running it: every cell and seed with its state (done, failed,
running, pending) from the run records, which of them a launch would run and how it
would submit them (local worker processes, or SLURM job arrays with their size,
parallelism and GPUs per job), and what they cost: GPU-hours under the paper profile
(iterations from the dataset and the profile's batch, times a seconds-per-iteration
figure per detector and GPU type from conf/cost.yaml, overridable here), CPU minutes
under the smoke profile (measured seconds per cell, conf/cost.yaml). It also prices the
table's noise estimate: the runs its reference cells add with `noise_seeds` seeds (the
profile's default: 5 under smoke, 1 under paper), or what noise_seeds=3 would cost. And
the disk the table needs (conf/cost.yaml `disk`): at its peak (the runs that train at
once, each with a checkpoint and the next one being written, plus every run's records)
and at its end (the records; and the final weights with keep_weights=true).

Each cell is priced from its config composed as its job composes it (Hydra, through
repro/sweep/compose.py: each set of group choices once, kept on disk), and its state
from the run records; no torch, no mmdet.
"""
from __future__ import annotations

import fnmatch
import math
import os
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import yaml
from omegaconf import OmegaConf

from repro.commands import args as cli
from repro.core import outcomes, records
from repro.core.errors import ReproError
from repro.core.paths import CONF_DIR
from repro.sweep.compose import Composer, hydra_composer
from repro.sweep.expand import expand, pending
from repro.table.spec import TableSpec

DEFAULTS = {"table": "all", "profile": "smoke", "launcher": "local", "seeds": "1",
            "noise_seeds": "", "cells": "", "sweeps_root": "sweeps", "gpu": "", "s_per_iter": "",
            "retry_failed": "false", "force": "false", "keep_weights": "false"}


def _yaml(path: Path) -> dict:
    with open(path) as f:
        return yaml.safe_load(f) or {}


def _glob(table: dict, name: str, what: str):
    for pattern, value in table.items():
        if fnmatch.fnmatchcase(name, str(pattern)):
            return value
    raise ReproError(f"conf/cost.yaml has no {what} for {name!r} (and no '*' entry)")


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
    optimizer: str = "SGD"  # the optimizer entry's type: its state's size in a checkpoint
    cost: float = 0.0  # seconds (smoke: CPU) or GPU-hours (paper)
    noise: bool = False  # a run only the noise estimate asks for (a reference cell's extra seed)
    iters: int | None = None  # the profile's training iterations (smoke; the paper's: epochs)


def _state(status: dict | None) -> str:
    status = status or {}
    return outcomes.label(str(status.get("state", outcomes.PENDING)), status.get("reason"))


def context(spec: TableSpec, a: dict) -> list[str]:
    """The command line a sweep of this plan would compose its cells under."""
    return [f"table='{spec.name}'" if spec.name.isdigit() else f"table={spec.name}",
            f"profile={a['profile']}", *([f"noise_seeds={a['noise_seeds']}"]
                                         if a["noise_seeds"] else [])]


def runs(spec: TableSpec, a: dict, compose: Composer, noise: int | None = None) -> list[Run]:
    """Every run a sweep of `a` would hold, each priced from its cell's config composed
    as its job composes it (repro/sweep/compose.py); `noise`: other noise_seeds."""
    seeds = yaml.safe_load(a["seeds"]) if a["seeds"] else 1
    cells = [c for c in a["cells"].split(",") if c] or None
    k = compose.read([], lambda cfg: cfg.noise_seeds) if noise is None else noise
    plain = {j.run_dir for j in expand(spec, profile=a["profile"], sweeps_root=a["sweeps_root"],
                                       seeds=seeds, cells=cells)}
    jobs = expand(spec, profile=a["profile"], sweeps_root=a["sweeps_root"], seeds=seeds,
                  cells=cells, noise_seeds=k)
    todo = {j.run_dir for j in pending(jobs, retry_failed=cli.flag(a["retry_failed"],
                                                                   "retry_failed"),
                                       force=cli.flag(a["force"], "force"))}
    return [compose.read(job.overrides, lambda cfg: Run(
        job.cell.id, job.seed, _state(records.read_status(job.run_dir)), str(cfg.detector.name),
        OmegaConf.to_container(cfg.dataset, resolve=True), int(cfg.profile.get("gpus") or 0),
        int(cfg.profile.images_per_gpu), job.run_dir in todo, optimizer=str(cfg.optimizer.type),
        noise=job.run_dir not in plain, iters=cfg.profile.get("iters")))
        for job in jobs]


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
        # The figures are for the smoke schedule (cost.yaml smoke.iters); another one
        # (profile=smoke-3x, profile.iters=N) scales them, test and start-up included.
        smoke = cost["smoke"]
        for r in items:
            r.cost = float(_glob(smoke["s_per_cell"], r.detector, "s_per_cell")) \
                * (r.iters or smoke["iters"]) / smoke["iters"]
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
    with hydra_composer(context(spec, a)) as compose:
        profile = compose.read([], lambda cfg: OmegaConf.to_container(cfg.profile,
                                                                      resolve=True))
        items = runs(spec, a, compose)
        lines = _lines(spec, a, profile, items, compose)
    return lines


def _lines(spec: TableSpec, a: dict, profile: dict, items: list[Run],
           compose: Composer) -> list[str]:
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
    lines += _noise_lines(spec, a, items, cost, unit, compose)
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
    lines.append(disk_line(disk_need(items, todo, a, profile, cost)))
    return lines


def at_once(todo: list[Run], a: dict, profile: dict) -> int:
    """How many of the runs to go train at the same time."""
    if a["launcher"] == "slurm":
        par = (profile.get("slurm") or {}).get("array_parallelism") or len(todo)
    else:
        par = int(os.environ.get("REPRO_LOCAL_JOBS", "2"))
    return min(len(todo), int(par))


def run_disk(r: Run, a: dict, cost: dict) -> tuple[float, float, float]:
    """(weights, checkpoint, records) of one run, in MB."""
    d = cost["disk"]
    if a["profile"] == "paper":
        weights = float(_glob(d["weights_mb"], r.detector, "weights_mb"))
        iters = paper_iterations(r, cost["paper"])
    else:
        weights, iters = float(d["smoke_weights_mb"]), 0
    ckpt = weights * (1 + d["optimizer_slots"].get(r.optimizer, 1))
    return weights, ckpt, d["records_mb"] + d["records_mb_per_kiter"] * iters / 1000


@dataclass(frozen=True)
class Disk:
    """The disk a table needs, in MB: at its peak and at its end (disk_need)."""
    peak_mb: float
    end_mb: float
    at_once: int
    largest_mb: float  # the largest checkpoint among the runs that train at once
    keep_weights: bool

    def peak(self) -> str:
        return (f"{gb(self.peak_mb)} at the peak ({self.at_once} run(s) at once x 2 "
                f"checkpoints of up to {self.largest_mb:,.0f} MB, plus records)")


def disk_need(items: list[Run], todo: list[Run], a: dict, profile: dict, cost: dict) -> Disk:
    """The disk the table needs at its peak (the runs that train at once each hold one
    checkpoint and write the next; every run's records) and at its end (records, plus the
    final weights with keep_weights=true)."""
    sizes = {id(r): run_disk(r, a, cost) for r in items}
    records_mb = sum(rec for _, _, rec in sizes.values())
    keep = cli.flag(a["keep_weights"], "keep_weights")
    kept = sum(w for w, _, _ in sizes.values()) if keep else 0.0
    n = at_once(todo, a, profile)
    largest = sorted((sizes[id(r)][1] for r in todo), reverse=True)[:n]
    done_weights = sum(sizes[id(r)][0] for r in items if not r.would_run) if keep else 0.0
    return Disk(peak_mb=records_mb + 2 * sum(largest) + done_weights,
                end_mb=records_mb + kept, at_once=n, largest_mb=max(largest, default=0.0),
                keep_weights=keep)


def disk_line(d: Disk) -> str:
    return (f"Disk: {d.peak()}, {gb(d.end_mb)} at the end "
            f"(records{'; keep_weights=true: + final weights' if d.keep_weights else ''}; "
            f"conf/cost.yaml disk)")


def table_disk(spec: TableSpec, a: dict) -> Disk:
    """The plan's Disk figure for `a` (plan's arguments, DEFAULTS filled in): what
    python -m repro.doctor checks the free disk against."""
    a = {**DEFAULTS, **a}
    with hydra_composer(context(spec, a)) as compose:
        profile = compose.read([], lambda cfg: OmegaConf.to_container(cfg.profile,
                                                                      resolve=True))
        items = runs(spec, a, compose)
    return disk_need(items, [r for r in items if r.would_run], a, profile,
                     _yaml(CONF_DIR / "cost.yaml"))


def gb(mb: float) -> str:
    return f"{mb / 1000:,.1f} GB" if mb >= 1000 else f"{mb:,.0f} MB"


def _noise_lines(spec: TableSpec, a: dict, items: list[Run], cost: dict, unit: str,
                 compose: Composer) -> list[str]:
    """What the table's noise estimate costs (repro/report/noise.py): its reference cells'
    extra seeds, included above; or, with noise_seeds=1, what 3 would cost."""
    k = int(compose.read([], lambda cfg: cfg.noise_seeds))
    refs = len({r.cell for r in items} & {c.id for c in spec.noise_cells()})
    if not refs:
        return ["Noise estimate: this table has no reference cells (nor noise_rows); "
                "seeds=3 measures the noise on every cell."]
    extra = [r for r in items if r.noise]
    if k > 1 or extra:
        spent = sum(r.cost for r in extra)
        return [f"Noise estimate: {refs} reference cells x seeds 0..{k - 1} = {len(extra)} "
                f"extra runs, {_amount(spent, unit)} of the cost below (noise_seeds={k})."]
    what_if = [r for r in runs(spec, a, compose, noise=3) if r.noise]
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

