"""One sweep of a table, in the steps `run_sweep` reads as: expand, check, claim, submit,
report.

Called by the Hydra `table` sweeper with a launcher (the protocol of
repro/launch/launcher.py: local workers, or SLURM job arrays) and a callable composing a
job's config, so this module does not depend on Hydra's internals.

The console: what the sweep will run (repro/sweep/announce.py), one line per finished
job read from the run records (repro/sweep/progress.py), then the counts and the
written report's paths (repro/sweep/console.py).
"""
from __future__ import annotations

import re
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Callable, Sequence, TypeVar

from omegaconf import DictConfig, OmegaConf

from repro.core import records
from repro.core.errors import ReproError
from repro.core.outcomes import LOST
from repro.core.tracker_options import EVENTS_GLOB, check_trackers
from repro.launch import claims
from repro.launch.launcher import Launched, Launcher, Resources
from repro.sweep import announce
from repro.sweep.choices import explain_compose_error
from repro.sweep.compose import Composer, is_group_override
from repro.sweep.console import quiet_launchers, say, shown_path, wants_bar
from repro.sweep.expand import Job, expand, override_key, pending
from repro.sweep.preflight import check_job, check_values
from repro.sweep.progress import Progress
from repro.table.spec import TableSpec, load_table

T = TypeVar("T")


def run_sweep(config: DictConfig, arguments: Sequence[str], *, launcher: Launcher,
              compose: Callable[[list[str]], DictConfig], max_batch_size: int | None
              ) -> list[Launched]:
    sweep = Sweep.of(config)
    selected, todo = expand_jobs(sweep, arguments)
    batches = check_jobs(sweep, selected, todo, compose, launcher, max_batch_size)
    mine = claim_jobs(sweep, todo, launcher)
    submitted = submit(sweep, launcher, batches, mine)
    report(sweep, todo, submitted)
    exit_if_lost(submitted)
    return [launched for _, launched in submitted.returned]


def exit_if_lost(submitted: "Submitted") -> None:
    """A job that ended without a record (its worker died: the OOM killer, a kill) makes
    the launch's exit status 1, after the report: a script or CI must not read success.
    Its cell resumes at the next launch (its record says running, its claim is stale)."""
    lost = submitted.progress.counts[LOST]
    if lost:
        say(f"{lost} job(s) ended without a record (the worker died); the same command "
            f"resumes them from their last checkpoint")
        raise SystemExit(1)


def _plain(value):
    return OmegaConf.to_object(value) if OmegaConf.is_config(value) else value


def _cells_arg(value) -> list[str] | None:
    value = _plain(value)
    if value is None:
        return None
    return [value] if isinstance(value, str) else [str(v) for v in value]


@dataclass
class Sweep:
    """One launch of a table: its spec, the sweep's options, and this launch's id."""
    spec: TableSpec
    config: DictConfig
    retry_failed: bool
    force: bool
    verbose: bool
    trackers: list
    reports: bool  # write the table when the jobs are done (report=true, the default)
    launch_id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])

    @classmethod
    def of(cls, config: DictConfig) -> "Sweep":
        """The table and the options, checked: its claims and figures too, before any run."""
        if config.get("table") is None:
            raise ReproError("no table selected: python -m repro table=1 -m")
        spec = load_table(OmegaConf.select(config, "hydra.runtime.choices.table")
                          or config.table.id)
        reports = bool(config.get("report", True))
        if reports:
            from repro.report.claims import load_claims
            from repro.report.table_figures import check_figures

            load_claims(spec)
            check_figures(spec)
        verbose = bool(config.get("verbose"))
        quiet_launchers(verbose)  # Hydra's per-job launch lines only with verbose=true
        return cls(spec, config, retry_failed=bool(config.get("retry_failed")),
                   force=bool(config.get("force")), verbose=verbose,
                   trackers=check_trackers(_plain(config.get("trackers"))), reports=reports)

    @property
    def profile(self) -> str:
        return self.config.profile.name


def expand_jobs(sweep: Sweep, arguments: Sequence[str]) -> tuple[list[Job], list[Job]]:
    """The selected cell x seed jobs, and those a launch runs (pending), announced."""
    c = sweep.config
    jobs = expand(sweep.spec, profile=sweep.profile, sweeps_root=c.sweeps_root,
                  # a rehearsal (conf/rehearse/true.yaml) takes the paper's table settings
                  table_profile=c.profile.get("tables_as"),
                  seeds=_plain(c.seeds), cells=_cells_arg(c.get("cells")),
                  user_overrides=arguments, noise_seeds=_plain(c.get("noise_seeds", 1)))
    todo = pending(jobs, retry_failed=sweep.retry_failed, force=sweep.force)
    states = Counter((records.read_status(j.run_dir) or {}).get("state") for j in jobs)
    for line in announce.before_launch(sweep.spec, sweep.profile, jobs, todo, states,
                                       retry_failed=sweep.retry_failed, force=sweep.force):
        say(line)
    return jobs, todo


@dataclass
class Batch:
    resources: Resources
    indices: list[int]  # into the pending jobs


def check_jobs(sweep: Sweep, selected: list[Job], todo: list[Job],
               compose: Callable[[list[str]], DictConfig], launcher: Launcher,
               max_batch_size: int | None) -> list[Batch]:
    """Compose and check every pending job before the first one starts: a bad value or a
    missing dataset fails the whole launch up front, with nothing written under sweeps/.
    The selected jobs this launch does not run (done; failed without retry_failed) have
    their keys and values checked too, not their files: a bad override is refused even
    when nothing would run. Then the batches (jobs of one shape go out together, at most
    max_batch_size at once), which the launcher checks too (SLURM: an unknown partition,
    too many GPUs)."""
    context = list(OmegaConf.select(sweep.config, "hydra.overrides.task", default=None) or [])
    compose = Composer(compose, context=context)
    shapes: dict[Resources, list[int]] = {}
    for i, job in enumerate(todo):
        shape = _read(compose, sweep, job, lambda cfg, where: _checked(cfg, where, launcher))
        shapes.setdefault(shape, []).append(i)
    for job in _not_run(selected, todo):
        _read(compose, sweep, job, lambda cfg, where: check_values(
            cfg, where, balancer=_overrides_group(context, "balancer")))
    step = max_batch_size or max(len(todo), 1)
    batches = [Batch(r, group[start:start + step]) for r, group in shapes.items()
               for start in range(0, len(group), step)]
    launcher.check([(r, min(len(g), step)) for r, g in shapes.items()])
    return batches


def _not_run(selected: list[Job], todo: list[Job]) -> list[Job]:
    """The selected jobs a launch does not run, one per distinct set of config-group
    choices: what the command line sets is the same in every cell of one set (a cell's
    own values were checked when it ran)."""
    running = {j.run_dir for j in todo}
    first: dict[tuple[str, ...], Job] = {}
    for job in selected:
        if job.run_dir not in running:
            first.setdefault(tuple(o for o in job.overrides if is_group_override(o)), job)
    return list(first.values())


def _overrides_group(overrides: Sequence[str], group: str) -> bool:
    """Whether a command line sets `group` or a key under it (`balancer=alwa1`,
    `balancer.interval=3`, `+balancer.x=1`)."""
    return any(re.split(r"[./@]", override_key(o), maxsplit=1)[0] == group for o in overrides)


def _read(compose: Composer, sweep: Sweep, job: Job, check: Callable[[DictConfig, str], T]) -> T:
    """`check(config, where)` of a job's composed config, read in place, not copied: the
    checks keep nothing of it."""
    where = f"table {sweep.spec.name}, cell {job.cell.id}"
    try:
        return compose.read(job.overrides, lambda cfg: check(cfg, where))
    except ReproError:
        raise
    except Exception as e:  # Hydra's composition errors name the bad override
        raise ReproError(f"{where}: {explain_compose_error(e)}") from None


def _checked(cfg: DictConfig, where: str, launcher: Launcher) -> Resources:
    check_job(cfg, where=where)
    return launcher.shape(cfg)


def claim_jobs(sweep: Sweep, todo: list[Job], launcher: Launcher) -> dict[int, Job]:
    """Claim every pending job for this launch; those another live launch holds (or that
    got done since they were listed) are left out, and said so."""
    mine = _claim(todo, sweep.launch_id, retry_failed=sweep.retry_failed, force=sweep.force)
    if mine:
        say(announce.how(len(mine), launcher.name,
                         OmegaConf.select(sweep.config, "hydra.launcher.n_jobs"),
                         todo[0].run_dir.parents[1], verbose=sweep.verbose))
    return {i: todo[i] for i in sorted(mine)}


@dataclass
class Submitted:
    returned: list[tuple[Job, Launched]]
    progress: Progress

    @property
    def queued(self) -> list[str]:
        return [l.slurm_job_id for _, l in self.returned if l.slurm_job_id]


def submit(sweep: Sweep, launcher: Launcher, batches: list[Batch],
           mine: dict[int, Job]) -> Submitted:
    """Hand the claimed jobs to the launcher, batch by batch; meanwhile one console line
    per finished job, from the run records (when the launcher waits for them). A launch
    that breaks off gives back the claims of what did not go out."""
    returned: list[tuple[Job, Launched]] = []
    gone: set[int] = set()
    with Progress(list(mine.values()) if launcher.waits else [],
                  bar=wants_bar(sweep.verbose)) as progress:
        for batch in batches:
            indices = [i for i in batch.indices if i in mine]
            if not indices:
                continue
            jobs = [mine[i] for i in indices]
            try:
                out = launcher.launch([[*j.overrides, launch_override(sweep.launch_id)]
                                       for j in jobs], batch.resources)
            except BaseException:
                for i in set(mine) - gone:  # nothing more goes out: give back the rest
                    claims.release(mine[i].run_dir, sweep.launch_id)
                raise
            for job, launched in zip(jobs, out):
                if launched.slurm_job_id:
                    claims.note_job(job.run_dir, sweep.launch_id, launched.slurm_job_id)
            gone.update(indices)
            returned.extend(zip(jobs, out))
    return Submitted(returned, progress)


def report(sweep: Sweep, todo: list[Job], submitted: Submitted) -> None:
    """How the launch ended: the counts of the jobs that ran, or where the queued ones
    can be followed; then the table (python -m repro.report) and the curves."""
    progress, queued = submitted.progress, submitted.queued
    if progress.jobs and not queued:
        progress.settle([(job, launched.returned) for job, launched in submitted.returned])
        for line in progress.closing():
            say(line)
    c = sweep.config
    if queued:
        where = f"table={sweep.spec.name} profile={sweep.profile}"
        if str(c.sweeps_root) != "sweeps":
            where += f" sweeps_root={c.sweeps_root}"
        say(f"{len(queued)} cell(s) queued on SLURM ({_id_ranges(queued)}); they run after "
            f"this command ends. Follow them with: python -m repro.status {where}; write the "
            f"table when they are done with: python -m repro.report {where}")
    elif sweep.reports:  # tables, claims and figures (python -m repro.report)
        from repro.report.build import build_report

        paths = build_report(sweep.spec, profile=sweep.profile, sweeps_root=c.sweeps_root,
                             results_root=c.results_root)
        say(f"report written: {', '.join(shown_path(p) for p in paths)}")
    table_dir = todo[0].run_dir.parents[1] if todo else None
    if table_dir is not None and "tensorboard" in sweep.trackers and any(
            table_dir.glob(f"*/seed*/{EVENTS_GLOB}")):
        say(f"training curves: tensorboard --logdir {shown_path(table_dir)}")


def launch_override(launch_id: str) -> str:
    """The job's `launch_id=` override, quoted: unquoted, Hydra reads a hex id such as
    38e901827732 as a float (3.8e+902 = inf) and 123456789012 as an int, and the job's
    claim then never matches the launch's (the cell is skipped as claimed by it)."""
    return f"launch_id='{launch_id}'"


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
