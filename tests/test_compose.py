"""One composition path (repro/sweep/compose.py): the plan and the sweep's pre-flight
compose a cell as Hydra composes its job. Every cell of every table, composed through
the Composer (each group set once, then kept on disk) and by Hydra in full, resolves to
the same config; so does a second Composer reading the group sets back from disk."""
from __future__ import annotations

import pytest
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from repro.core.paths import CONF_DIR
from repro.sweep.compose import Composer, is_group_override
from repro.sweep.expand import expand
from repro.table.spec import available_tables, load_table


def _resolved(cfg) -> dict:
    return {k: OmegaConf.to_container(cfg[k], resolve=True) if OmegaConf.is_config(cfg[k])
            else cfg[k] for k in cfg if k != "hydra"}


def _table_arg(name: str) -> str:
    return f"table='{name}'" if name.isdigit() else f"table={name}"


def _sample(jobs: list, every: int, each_group_set: bool) -> list:
    """Every `every`-th job, and (each_group_set) the first job of each group set that
    stride missed: a stride alone covers 2 of Table 3's 9 group sets."""
    picked = jobs[::every]
    if each_group_set:
        seen = {tuple(o for o in j.overrides if is_group_override(o)) for j in picked}
        for job in jobs:
            groups = tuple(o for o in job.overrides if is_group_override(o))
            if groups not in seen:
                seen.add(groups)
                picked.append(job)
    return picked


@pytest.mark.parametrize("profile, every, each_group_set", [("smoke", 5, True),
                                                            ("paper", 7, False)])
def test_every_cell_composes_as_hydra_composes_it(tmp_path, profile, every, each_group_set):
    """smoke: every group set and every 5th job; paper: every 7th job (Hydra's full
    composition is the slow side: every smoke job took 106 s of the suite)."""
    compared = 0
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        for name in available_tables():
            context = [_table_arg(name), f"profile={profile}"]
            full = lambda o: compose("config", overrides=[*context, *o])  # noqa: E731
            calls: list = []
            composer = Composer(lambda o: calls.append(o) or full(o), context, cache=tmp_path)
            jobs = expand(load_table(name), profile=profile, sweeps_root=tmp_path, seeds=1,
                          noise_seeds=1)
            jobs = _sample(jobs, every, each_group_set)
            for job in jobs:
                want = _resolved(full(job.overrides))
                assert composer.read(job.overrides, _resolved) == want, (name, job.cell.id)
                assert _resolved(composer(job.overrides)) == want, (name, job.cell.id)
                compared += 1
            groups = {tuple(o for o in j.overrides if is_group_override(o)) for j in jobs}
            assert len(calls) == len(groups), name  # each group set composed once
            again = Composer(lambda o: pytest.fail(f"composed {o} again"), context,
                             cache=tmp_path)
            assert again.read(jobs[-1].overrides, _resolved) == want, name  # from disk
    assert compared > (50 if every == 5 else 30)  # the tables were walked


def test_what_the_fast_path_cannot_do_hydra_composes_and_refuses(tmp_path):
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        context = ["table='1'"]
        composer = Composer(lambda o: compose("config", overrides=[*context, *o]), context,
                            cache=tmp_path)
        cell = ["detector=faster_rcnn_r50", "balancer.cls_weight=0.5"]
        assert composer(cell).balancer.cls_weight == 0.5
        added = composer([*cell, "+extra.deep=3", "++balancer.new_key=1", "+top=2"])
        assert added.extra.deep == 3 and added.balancer.new_key == 1 and added.top == 2
        assert "extra" not in composer(cell) and "new_key" not in composer(cell).balancer
        assert "top" not in composer(cell)
        with pytest.raises(Exception, match="Could not append"):  # Hydra's own refusal
            composer([*cell, "+seed=3"])
        with pytest.raises(Exception, match="nope"):  # Hydra's own refusal
            composer([*cell, "balancer.nope=1"])
        assert composer(cell).balancer.cls_weight == 0.5  # the group set is unharmed
