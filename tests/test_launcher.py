"""The sweep's launcher protocol (repro/launch/launcher.py): what run_sweep asks of a
launcher, in order, and what it does with the answers. The launcher here implements the
protocol and records its calls instead of training (training through the real ones:
tests/test_console.py locally, tests/test_slurm.py on SLURM); the configs are Hydra's own.
"""
from __future__ import annotations

import pytest
from hydra import compose, initialize_config_dir

from repro.core.errors import ReproError
from repro.core.paths import CONF_DIR
from repro.launch import claims
from repro.launch.launcher import ONE_PROCESS, Launched, Launcher, Resources
from repro.sweep.run import run_sweep

COCO = Resources(tasks=2, gpus=0)  # this launcher's shape of a COCO cell


class Recording(Launcher):
    name, waits = "slurm", False  # queues and returns, as SLURM does

    def __init__(self, refuse: bool = False, break_at: int | None = None) -> None:
        self.calls: list = []
        self.refuse, self.break_at = refuse, break_at

    def shape(self, cfg) -> Resources:
        return COCO if cfg.dataset.family == "coco" else ONE_PROCESS

    def check(self, shapes) -> None:
        self.calls.append(("check", list(shapes)))
        if self.refuse:
            raise ReproError("refused")

    def launch(self, batch, resources) -> list[Launched]:
        n = sum(c[0] == "launch" for c in self.calls)
        self.calls.append(("launch", resources, [_cell(o) for o in batch]))
        if n == self.break_at:
            raise RuntimeError("the launcher broke")
        return [Launched(slurm_job_id=f"{100 + n}_{i}") for i in range(len(batch))]


def _cell(overrides) -> str:
    return next(o.split("=", 1)[1] for o in overrides if o.startswith("cell="))


CELLS = "cells=[w1.00-1.00__voc_sgd_l1,w1.00-1.00__voc_sgd_smoothl1,w1.00-1.00__voc_adamw_l1," \
        "w1.00-1.00__coco_sgd_l1,w1.00-1.00__coco_adamw_l1]"


def _sweep(tmp_path, launcher, max_batch_size=None):
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        config = compose("config", overrides=["table='1'", CELLS, "noise_seeds=1",
                                              f"sweeps_root={tmp_path}"],
                         return_hydra_config=True)
        return run_sweep(config, [], launcher=launcher, max_batch_size=max_batch_size,
                         compose=lambda o: compose("config", overrides=o))


def _claimed(tmp_path) -> dict[str, str | None]:
    return {p.parents[1].name: claims.read(p.parent).get("slurm_job_id")
            for p in (tmp_path / "smoke" / "table1").glob(f"*/seed0/{claims.CLAIM}")}


def test_jobs_go_out_by_shape_in_batches_after_the_launcher_checked_them(tmp_path, capsys):
    launcher = Recording()
    out = _sweep(tmp_path, launcher, max_batch_size=2)
    voc = ["w1.00-1.00__voc_sgd_l1", "w1.00-1.00__voc_sgd_smoothl1", "w1.00-1.00__voc_adamw_l1"]
    coco = ["w1.00-1.00__coco_sgd_l1", "w1.00-1.00__coco_adamw_l1"]
    assert launcher.calls == [
        ("check", [(ONE_PROCESS, 2), (COCO, 2)]),  # each shape, its largest batch
        ("launch", ONE_PROCESS, voc[:2]), ("launch", ONE_PROCESS, voc[2:]),
        ("launch", COCO, coco)]
    assert [l.slurm_job_id for l in out] == ["100_0", "100_1", "101_0", "102_0", "102_1"]
    # each claim names the SLURM job that will run its cell (python -m repro.status reads it)
    assert _claimed(tmp_path) == {"w1.00-1.00__voc_sgd_l1": "100_0",
                                  "w1.00-1.00__voc_sgd_smoothl1": "100_1",
                                  "w1.00-1.00__voc_adamw_l1": "101_0",
                                  "w1.00-1.00__coco_sgd_l1": "102_0",
                                  "w1.00-1.00__coco_adamw_l1": "102_1"}
    said = capsys.readouterr().out
    assert "5 cell(s) queued on SLURM (100 (2 tasks), 101, 102 (2 tasks))" in said


def test_a_refusing_check_stops_the_launch_before_any_claim(tmp_path):
    launcher = Recording(refuse=True)
    with pytest.raises(ReproError, match="refused"):
        _sweep(tmp_path, launcher)
    assert [c[0] for c in launcher.calls] == ["check"]
    assert not (tmp_path / "smoke").exists()  # no claim, no run folder


def test_a_launch_that_breaks_gives_back_the_claims_of_what_did_not_go_out(tmp_path):
    launcher = Recording(break_at=1)
    with pytest.raises(RuntimeError, match="the launcher broke"):
        _sweep(tmp_path, launcher, max_batch_size=2)
    assert [c[0] for c in launcher.calls] == ["check", "launch", "launch"]
    assert _claimed(tmp_path) == {"w1.00-1.00__voc_sgd_l1": "100_0",  # went out: kept
                                  "w1.00-1.00__voc_sgd_smoothl1": "100_1"}
