"""One sweep of a table: expand, check every pending cell, claim, launch, report.

Called by the Hydra `table` sweeper with callables for composing a job's config and
launching a batch, so this module does not depend on Hydra's internals. A launcher may
offer more (the SLURM one does, repro/launch/slurm.py): `check(shapes)` to refuse a
submission before anything is written, `launch(..., resources=)` to size each batch's
jobs, and results that say which SLURM job will run each cell.

The console: what the sweep will run (repro/sweep/announce.py), one line per finished
job read from the run records (repro/sweep/progress.py), then the counts and the
written report's paths (repro/sweep/console.py).
"""
from __future__ import annotations

import inspect
import uuid
from collections import Counter
from typing import Callable, Sequence

from omegaconf import DictConfig, OmegaConf

from repro import records
from repro.cli import explain_compose_error
from repro.errors import ReproError
from repro.launch import claims
from repro.launch.slurm import Resources
from repro.sweep import announce
from repro.sweep.compose_cache import CachedCompose
from repro.sweep.console import quiet_launchers, say, shown_path, wants_bar
from repro.sweep.expand import Job, expand, pending
from repro.sweep.preflight import check_job
from repro.sweep.progress import Progress
from repro.table.spec import load_table
from repro.tracker_options import EVENTS_GLOB, check_trackers


def _plain(value):
    return OmegaConf.to_object(value) if OmegaConf.is_config(value) else value


def _cells_arg(value) -> list[str] | None:
    value = _plain(value)
    if value is None:
        return None
    return [value] if isinstance(value, str) else [str(v) for v in value]


def run_sweep(config: DictConfig, arguments: Sequence[str], *, launch: Callable,
              compose: Callable[[list[str]], DictConfig], max_batch_size: int | None) -> list:
    if config.get("table") is None:
        raise ReproError("no table selected: python -m repro table=1 -m")
    spec = load_table(OmegaConf.select(config, "hydra.runtime.choices.table") or config.table.id)
    jobs = expand(spec, profile=config.profile.name, sweeps_root=config.sweeps_root,
                  # a rehearsal (conf/rehearse/true.yaml) takes the paper's table settings
                  table_profile=config.profile.get("tables_as"),
                  seeds=_plain(config.seeds), cells=_cells_arg(config.get("cells")),
                  user_overrides=arguments, noise_seeds=_plain(config.get("noise_seeds", 1)))
    if config.get("report", True):  # the table's claims and figures, checked before any run
        from repro.report.claims import load_claims
        from repro.report.table_figures import check_figures

        load_claims(spec)
        check_figures(spec)
    retry_failed, force = bool(config.get("retry_failed")), bool(config.get("force"))
    verbose = bool(config.get("verbose"))
    quiet_launchers(verbose)  # Hydra's per-job launch lines only with verbose=true
    trackers = check_trackers(_plain(config.get("trackers")))
    todo = pending(jobs, retry_failed=retry_failed, force=force)
    states = Counter((records.read_status(j.run_dir) or {}).get("state") for j in jobs)
    for line in announce.before_launch(spec, config.profile.name, jobs, todo, states,
                                       retry_failed=retry_failed, force=force):
        say(line)
    # Compose and check every job before the first one starts: a bad value or a missing
    # dataset fails the whole launch up front, with nothing written under sweeps/.
    shape: list[Resources] = []
    compose = CachedCompose(compose)
    for job in todo:
        try:
            cfg = compose(job.overrides)
        except Exception as e:  # Hydra's composition errors name the bad override
            raise ReproError(f"table {spec.name}, cell {job.cell.id}: "
                             f"{explain_compose_error(e)}") from None
        check_job(cfg, where=f"table {spec.name}, cell {job.cell.id}")
        shape.append(Resources.of(cfg))
    launcher = getattr(launch, "__self__", None)
    sized = "resources" in inspect.signature(launch).parameters
    groups: dict[Resources, list[int]] = {}
    for i in range(len(todo)):  # cells asking for the same job shape go out together
        groups.setdefault(shape[i] if sized else Resources(1, 0), []).append(i)
    step = max_batch_size or max(len(todo), 1)
    if hasattr(launcher, "check"):  # e.g. SLURM's dry run: unknown partition, too many GPUs
        launcher.check([(r, min(len(g), step)) for r, g in groups.items()])

    launch_id = uuid.uuid4().hex[:12]
    mine = _claim(todo, launch_id, retry_failed=retry_failed, force=force)
    slurm = hasattr(launcher, "check")  # the SLURM launcher queues and returns (wait: false)
    table_dir = todo[0].run_dir.parents[1] if todo else None
    if mine:
        say(announce.how(len(mine), "slurm" if slurm else "local",
                         OmegaConf.select(config, "hydra.launcher.n_jobs"), table_dir,
                         verbose=verbose))
    waits = not slurm or bool(getattr(launcher, "wait", False))
    results, submitted, returned = [], set(), []
    # One line per finished job, from the run records (repro/sweep/progress.py).
    with Progress([todo[i] for i in sorted(mine)] if waits else [],
                  bar=wants_bar(verbose)) as progress:
        for resources, group in groups.items():
            group = [i for i in group if i in mine]
            for start in range(0, len(group), step):
                batch = [todo[i] for i in group[start:start + step]]
                try:
                    out = launch([[*j.overrides, f"launch_id={launch_id}"] for j in batch],
                                 initial_job_idx=len(results),
                                 **({"resources": resources} if sized else {}))
                except BaseException:
                    for i in mine - submitted:  # nothing more goes out: give back the rest
                        claims.release(todo[i].run_dir, launch_id)
                    raise
                for job, result in zip(batch, out):
                    if getattr(result, "slurm_job_id", None):
                        claims.note_job(job.run_dir, launch_id, result.slurm_job_id)
                submitted.update(group[start:start + step])
                results.extend(out)
                returned.extend(zip(batch, out))
    queued = [r.slurm_job_id for r in results if getattr(r, "slurm_job_id", None)]
    if progress.jobs and not queued:
        progress.settle(returned)
        for line in progress.closing():
            say(line)
    if queued:
        where = f"table={spec.name} profile={config.profile.name}"
        if str(config.sweeps_root) != "sweeps":
            where += f" sweeps_root={config.sweeps_root}"
        say(f"{len(queued)} cell(s) queued on SLURM ({_id_ranges(queued)}); they run after "
            f"this command ends. Follow them with: python -m repro.status {where}; write the "
            f"table when they are done with: python -m repro.report {where}")
    elif config.get("report", True):  # tables, claims and figures (python -m repro.report)
        from repro.report.build import build_report

        paths = build_report(spec, profile=config.profile.name, sweeps_root=config.sweeps_root,
                             results_root=config.results_root)
        say(f"report written: {', '.join(shown_path(p) for p in paths)}")
    if table_dir is not None and "tensorboard" in trackers and any(
            table_dir.glob(f"*/seed*/{EVENTS_GLOB}")):
        say(f"training curves: tensorboard --logdir {shown_path(table_dir)}")
    return results


def _claim(todo: list[Job], launch_id: str, *, retry_failed: bool, force: bool) -> set[int]:
    """Claim every job this launch will start; leave out those another live launch holds
    (and those that got done, or failed, since they were listed)."""
    live = claims.Liveness()
    live.prefetch(claims.read(j.run_dir) for j in todo)
    me = claims.owner(launch_id)
    skip = set() if force else {records.DONE} | (set() if retry_failed else {records.FAILED})
    mine, held = set(), []
    for i, job in enumerate(todo):
        ok, holder = claims.acquire(
            job.run_dir, me, live,
            may_run=lambda: (records.read_status(job.run_dir) or {}).get("state") not in skip)
        if ok:
            mine.add(i)
        elif holder:
            held.append((job, holder))
    for job, holder in held[:5]:
        checked = "" if live(holder) else (
            f"; it cannot be checked from here: delete {job.run_dir / claims.CLAIM} if it is gone")
        say(f"skipped: cell {job.cell.id} seed {job.seed} is being run by "
            f"{claims.describe(holder)}{checked}")
    if held:
        say(f"skipped: {len(held)} job(s) left to the launch that holds them")
    return mine


def _id_ranges(ids: list[str]) -> str:
    arrays: dict[str, int] = Counter(i.split("_")[0] for i in ids)
    return ", ".join(f"{a} ({n} tasks)" if n > 1 else a for a, n in arrays.items())
