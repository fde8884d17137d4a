"""One job = one cell x seed: compose the MMDetection config, train, test, record.

Whatever happens inside, the job writes its own record and returns normally, so a
failed or diverged cell never stops the sweep (Hydra would otherwise re-raise at the
end of the batch, and a SLURM job would still say COMPLETED: methods.md section 6).

Before anything else the job takes its cell's claim (repro/launch/claims.py): a cell
another live launch holds, or one done meanwhile, is left alone. A job whose record
still says `running` (killed, preempted, requeued by SLURM) resumes from its last
checkpoint. Under the SLURM launcher a cell may be several tasks (one per GPU): rank 0
claims, decides and keeps the record, every rank trains.
"""
from __future__ import annotations

import logging
import os
import shutil
import time
import traceback
import uuid
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from repro.core import records
from repro.core.outcomes import DISK, SKIPPED, failure_class
from repro.core.paths import run_dir
from repro.core.tracker_options import EVENTS_GLOB
from repro.job.headline import headline
from repro.job import preemption
from repro.job.job_log import job_log
from repro.job.provenance import now, provenance, where
from repro.launch import claims

log = logging.getLogger("repro.job")
WEIGHTS = "weights.pth"  # a finished cell's final weights, with keep_weights=true


def cell_run_dir(cfg: DictConfig) -> Path:
    return run_dir(cfg.sweeps_root, cfg.profile.name, cfg.table.id, cfg.cell, int(cfg.seed))


def _job_overrides() -> list[str]:
    try:
        from hydra.core.hydra_config import HydraConfig

        return list(HydraConfig.get().overrides.task)
    except (ImportError, ValueError):
        return []


def run_cell(cfg: DictConfig) -> dict:
    """Run one cell in this process; under the SLURM launcher with several tasks, in
    every task of its job (rank 0 keeps the record, all ranks train)."""
    from repro.launch import distributed

    if os.environ.get("SUBMITIT_EXECUTOR"):  # a SLURM (or submitit) job
        from repro.launch.slurm import calm_forked_children

        calm_forked_children()
    task = distributed.slurm_task()
    # MMDetection's own output goes to the run folder's run.log, not the sweep's console
    # (repro/job/job_log.py); verbose=true keeps it on the console.
    try:
        logged = job_log(cell_run_dir(cfg), verbose=bool(cfg.get("verbose")),
                         slurm=bool(os.environ.get("SUBMITIT_EXECUTOR")),
                         rank=0 if task is None else task.rank)
        output = logged.__enter__()
    except OSError as e:  # the run folder cannot be written (read-only, full disk)
        return _unwritable(cfg, e)
    preemption.arm()  # SLURM's requeue signal: save at the next iteration (preemption.py)
    try:
        if task is not None:
            distributed.start(task, str(cfg.profile.get("device", "cpu")),
                              timeout_s=cfg.profile.get("dist_timeout_s"))
        try:
            return _run(cfg, task, output)
        finally:
            distributed.stop(task)
    finally:
        preemption.disarm()
        logged.__exit__(None, None, None)


def _identity(cfg: DictConfig) -> dict:
    return {"profile": cfg.profile.name, "table": cfg.table.id, "cell": cfg.cell,
            "seed": int(cfg.seed)}


def _unwritable(cfg: DictConfig, error: OSError) -> dict:
    log.error("cell %s seed %s failed: its run folder cannot be written: %s",
              cfg.cell, cfg.seed, error)
    return {**_identity(cfg), "state": records.FAILED, "reason": failure_class(error),
            "message": f"run folder not writable: {error}"[:500]}


def _run(cfg: DictConfig, task, output) -> dict:
    from repro.launch import distributed

    rd = cell_run_dir(cfg)
    launch_id = cfg.get("launch_id") or f"direct-{uuid.uuid4().hex[:12]}"
    lead = task is None or task.rank == 0
    t0, c0 = time.perf_counter(), time.process_time()
    # Rank 0 takes the claim and prepares the folder; every rank then acts on its word.
    # Whatever fails in that preparation (the claim, a torn checkpoint or record, the
    # provenance) is the cell's outcome like any failure in training.
    plan = None
    if lead:
        try:
            plan = _begin(cfg, rd, launch_id)
        except Exception as e:  # noqa: BLE001 - every failure becomes a record
            plan = {"state": records.FAILED, "reason": failure_class(e),
                    "message": str(e)[:500], "traceback": traceback.format_exc()}
    plan = distributed.broadcast(plan, task)
    if plan["state"] == records.FAILED:
        return _end(cfg, rd, launch_id, lead, task, plan, None, (t0, c0), [])
    if plan["state"] != records.RUNNING:
        return plan
    if plan["resumed_from"] is None:  # a fresh start: no earlier attempt's log either
        output.restart()
    ranks: list = []
    try:
        metrics = train_and_test(cfg, rd, resume_from=plan["resumed_from"], task=task,
                                 ranks=ranks)
        status = {"state": records.DONE}
        if lead:
            records.write_json(rd / records.METRICS, metrics)
    except Exception as e:  # noqa: BLE001 - every failure becomes a record
        status = {"state": records.FAILED, "reason": failure_class(e), "message": str(e)[:500],
                  "traceback": traceback.format_exc()}
    # A preempted job (preemption.Preempted, submitit's requeue exit) leaves through
    # SystemExit here: its record stays `running` and its requeued self finds its claim.
    return _end(cfg, rd, launch_id, lead, task, status, plan, (t0, c0), ranks)


def _end(cfg, rd: Path, launch_id: str, lead: bool, task, status: dict, plan: dict | None,
         clock: tuple[float, float], ranks: list) -> dict:
    """Write the outcome (rank 0), free the disk a resume needed, release the claim.
    `clock`: the job's start, (perf_counter, process_time): its wall seconds and this
    process's CPU seconds (user + sys, all its threads; its dataloader workers not)."""
    trace = status.pop("traceback", None)
    if status["state"] == records.FAILED:
        log.error("cell %s seed %s failed (%s): %s", cfg.cell, cfg.seed, status["reason"],
                  status["message"])
    if not lead:
        return {**status, "rank": task.rank}
    seconds = round(time.perf_counter() - clock[0], 3)
    cpu_s = round(time.process_time() - clock[1], 3)
    identity = _identity(cfg)
    try:
        if status.get("reason") == DISK:  # the torn checkpoint a full disk left holds its room
            _free_torn_checkpoints(rd)
        if trace:
            (rd / "error.log").write_text(trace)
        if plan is not None:
            records.write_json(rd / records.PROVENANCE,
                               {**plan["provenance"], "ended": now(), "seconds": seconds})
        status = {**identity, **status, "started": (plan or {}).get("started"),
                  "ended": now(), "seconds": seconds, "cpu_s": cpu_s,
                  "resumed_from": (plan or {}).get("resumed_from"), **where(),
                  **({"ranks": ranks} if ranks else {})}
        if cfg.get("keep_weights") and status["state"] == records.DONE:
            _keep_weights(rd)
        records.write_json(rd / records.STATUS, status)
        _free_checkpoints(rd)  # only now: a kill before the record leaves a resumable run
    except OSError as e:  # a full disk, a folder gone read-only: the old record stays whole
        status = {**identity, "state": records.FAILED, "reason": failure_class(e),
                  "message": f"the record could not be written: {e}"[:500],
                  "unrecorded": True}
        log.error("cell %s seed %s: %s", cfg.cell, cfg.seed, status["message"])
    finally:
        # Released when the cell has an outcome, recorded or not.
        try:
            claims.release(rd, launch_id)
        except OSError as e:
            log.error("cell %s seed %s: claim not released: %s", cfg.cell, cfg.seed, e)
    return status


def _keep_weights(rd: Path) -> None:
    """The final model's state dict as weights.pth (keep_weights=true)."""
    import torch

    from repro.job.checkpointing import resume_point

    point = resume_point(rd / "mmdet")
    if point is not None:
        state = torch.load(point[0], map_location="cpu", weights_only=True)["state_dict"]
        tmp = rd / f".{WEIGHTS}.tmp"
        torch.save({"state_dict": state, "meta": {"iter": point[1]}}, tmp)
        os.replace(tmp, rd / WEIGHTS)


def _free_torn_checkpoints(rd: Path) -> None:
    """Delete the checkpoints that do not load: a save a full disk cut short leaves its
    part (no resume point: checkpointing.resume_point skips it), which holds the room
    the failed record needs."""
    from repro.job.checkpointing import torn

    work = rd / "mmdet"
    for path in torn(work) if work.is_dir() else []:
        path.unlink(missing_ok=True)


def _free_checkpoints(rd: Path) -> None:
    """A cell with an outcome needs no checkpoint (bounded disk): delete them all."""
    from repro.job.checkpointing import POINTER, checkpoints

    work = rd / "mmdet"
    for path in checkpoints(work) if work.is_dir() else []:
        path.unlink(missing_ok=True)
    (work / POINTER).unlink(missing_ok=True)


def _begin(cfg: DictConfig, rd: Path, launch_id: str) -> dict:
    """Claim the cell, decide fresh start or resume, write the `running` record."""
    from repro.job.checkpointing import resume_point
    from repro.job.hooks import truncate_record

    identity = _identity(cfg)
    me = claims.owner(launch_id, slurm_job_id=where()["slurm_job_id"])
    ok, holder = claims.acquire(rd, me, claims.Liveness(), may_run=lambda: bool(
        cfg.get("force")) or not records.is_done(rd))
    if not ok:  # another launch's live job trains it, or it is done already
        why = f"claimed by {claims.describe(holder)}" if holder else "done already"
        log.warning("cell %s seed %s not run: %s", cfg.cell, cfg.seed, why)
        return {**identity, "state": SKIPPED, "reason": why}
    # An interrupted run (its record still says running: killed, preempted, requeued)
    # resumes from its last checkpoint that loads; a failed, forced or new one starts
    # afresh.
    previous = records.read_status(rd) or {}
    point = resume_point(rd / "mmdet") if previous.get("state") == records.RUNNING else None
    last_iter = None if point is None else point[1]
    if last_iter is None:  # start afresh: no stale checkpoint or record survives
        shutil.rmtree(rd / "mmdet", ignore_errors=True)
        for old in (*rd.glob("scalars*.jsonl"), *rd.glob(EVENTS_GLOB)):
            old.unlink()
    else:
        for record in rd.glob("scalars*.jsonl"):  # every rank's, to the checkpoint
            truncate_record(record, last_iter)
        log.info("cell %s seed %s resumes from iteration %d", cfg.cell, cfg.seed, last_iter)
    started = now()
    records.write_json(rd / records.STATUS, {**identity, "state": records.RUNNING,
                                             "started": started, "resumed_from": last_iter,
                                             **where()})
    prov = provenance(_job_overrides(), started)
    records.write_json(rd / records.PROVENANCE, prov)
    OmegaConf.save(cfg, rd / "config.yaml", resolve=True)
    for stale in (records.METRICS, "error.log", WEIGHTS):  # from an earlier attempt
        (rd / stale).unlink(missing_ok=True)
    for torn in rd.glob(".*.json.*"):  # a killed write's temporary file (the record is whole)
        torn.unlink(missing_ok=True)
    return {**identity, "identity": identity, "state": records.RUNNING, "started": started,
            "provenance": prov, "resumed_from": last_iter,
            "resume_path": None if point is None else str(point[0])}


def train_and_test(cfg: DictConfig, rd: Path, resume_from: int | None = None, task=None,
                   ranks: list | None = None) -> dict:
    """Train (from scratch, or on from the checkpoint of iteration `resume_from`) and
    test; `ranks` receives each rank's part under a multi-task job."""
    from repro.job.mmdet_config import build_mmdet_config
    from repro.job.train import run_mmdet

    mm = build_mmdet_config(cfg, rd)
    if resume_from is not None:
        from repro.job.checkpointing import resume_point

        # The checkpoint that loads (a kill may have torn the newest), not mmengine's guess.
        point = resume_point(rd / "mmdet")
        if point is None or point[1] != resume_from:
            raise RuntimeError(f"the checkpoint of iteration {resume_from} in {rd / 'mmdet'} "
                               f"is gone")
        mm.resume, mm.load_from = True, str(point[0])
    if task is None or task.rank == 0:
        mm.dump(str(rd / "mmdet_config.py"))
        # What it runs at, for the report's "not the paper's scale" (repro/table/paper_scale.py).
        from repro.job.profile_scale import scale_record
        from repro.table.paper_scale import SCALE_RECORD

        records.write_json(rd / SCALE_RECORD, scale_record(cfg, mm))
    results, iters = run_mmdet(mm, threads=cfg.profile.get("threads"), ranks=ranks)
    if cfg.dataset.get("format_only"):  # test-dev: the evaluation server scores it (issue 7)
        from repro.job.submission import awaiting_server
        return awaiting_server(cfg, rd, iters)
    key = cfg.dataset.metric_key
    value, note = headline(results, key)
    if note:  # nothing scored: the record's results say AP 0
        results = {key: 0.0}
    if value is None:
        raise RuntimeError(f"evaluator returned no {key}: {sorted(results)}")
    return {"metric": cfg.dataset.metric, "value": value, "scale": "0-100",
            "iterations": iters, **note,
            "all": {k: float(v) for k, v in results.items() if isinstance(v, (int, float))}}
