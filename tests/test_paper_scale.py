"""Fidelity at the paper's scale (issue 13, point 4), composed without training: the LR
base is the table's paper batch, the shipped optimizer wrapper survives the optimizer
entry, the config-delta check sees a dropped shipped key, and the report names every
setting off the paper's scale."""
import copy

import pytest
from hydra import compose, initialize_config_dir

from conftest import write_record
from config_deltas import undocumented
from repro.core import records
from repro.job.mmdet_config import build_mmdet_config
from repro.core.paths import CONF_DIR
from repro.report.build import write_table
from repro.table.paper_scale import SCALE_RECORD, PaperScale, departures, paper_scale
from repro.table.spec import load_table

PAPER = ("profile=paper", "profile.data_root=/d", "profile.pretrained.resnet50=/w/r50.pth",
         "profile.pretrained.resnet101=/w/r101.pth")


def built(table, cell_id, tmp_path, *extra, profile="paper"):
    spec = load_table(table)
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = compose("config", overrides=[f"table='{table}'", *spec.cell(cell_id).overrides_for(
            profile), f"cell={cell_id}", *(PAPER if profile == "paper" else ()), *extra])
    return cfg, build_mmdet_config(cfg, tmp_path)


@pytest.mark.parametrize("table,cell_id,extra,base", [
    ("1", "w1.00-1.00__voc_sgd_l1", (), 8),                    # ALWA: 4 GPUs x 2
    ("1", "w1.00-1.00__voc_sgd_l1", ("profile.gpus=2",), 8),   # 2 GPUs: LR halves, base stays
    ("6", "l1.00__l1", (), 8),                            # ALWA Table 6: 2 x 4
    ("hcral-9", "retina_fl__val2017", (), 16),                 # HCRAL: 8 x 2
])
def test_the_lr_base_is_the_tables_paper_batch(tmp_path, table, cell_id, extra, base):
    cfg, mm = built(table, cell_id, tmp_path, *extra)
    assert mm.auto_scale_lr == {"enable": True, "base_batch_size": base}
    assert mm.optim_wrapper.optimizer.lr == 0.01


def test_the_smoke_profile_scales_from_its_own_batch(tmp_path):
    _, mm = built("1", "w1.00-1.00__voc_sgd_l1", tmp_path, profile="smoke")
    assert mm.auto_scale_lr["base_batch_size"] == 4


def test_vfnets_paramwise_cfg_survives_the_optimizer_entry_and_a_drop_is_caught(tmp_path):
    cfg, mm = built("hcral-7", "r50__testdev", tmp_path)
    assert mm.optim_wrapper.paramwise_cfg == {"bias_lr_mult": 2.0, "bias_decay_mult": 0.0}
    assert mm.optim_wrapper.optimizer == {"type": "SGD", "lr": 0.01, "momentum": 0.9,
                                          "weight_decay": 0.0001}
    assert undocumented(cfg, mm) == []
    dropped = copy.deepcopy(mm)
    del dropped.optim_wrapper["paramwise_cfg"]
    assert undocumented(cfg, dropped) == ["optim_wrapper.paramwise_cfg"]
    changed = copy.deepcopy(mm)  # a shipped key changed inside a documented block
    changed.default_hooks.param_scheduler = dict(type="ParamSchedulerHook", x=1)
    assert "default_hooks.param_scheduler.x" in undocumented(cfg, changed)


def test_departures_name_each_setting_off_the_papers_scale():
    paper = paper_scale({"paper": {"profile.gpus": 2, "profile.images_per_gpu": 4}})
    assert paper == PaperScale(device="cuda", gpus=2, images_per_gpu=4) and paper.batch == 8
    at_scale = {"device": "cuda", "processes": 2, "images_per_gpu": 4, "iters": None,
                "epochs": 12, "paper_epochs": 12}
    assert departures(at_scale, paper) == []
    assert departures({**at_scale, "processes": 1}, paper) == [
        "1 GPU(s) (paper: 2)", "batch 4 = 1 x 4 (paper: 8 = 2 x 4; LR scaled linearly)"]
    off = departures({**at_scale, "device": "cpu", "processes": 1, "images_per_gpu": 1,
                      "iters": 3, "epochs": None, "test_images": 2, "image_scale": [64, 64]},
                     paper)
    assert off == ["device cpu (paper: cuda)",
                   "batch 1 = 1 x 1 (paper: 8 = 2 x 4; LR scaled linearly)",
                   "schedule 3 iterations (paper: 12 epochs)",
                   "test images: the first 2 (paper: all)",
                   "image scale 64x64 (paper: the shipped config's)"]


def test_the_table_header_says_not_the_papers_scale(tmp_path):
    spec = load_table("1")
    root = tmp_path / "sweeps"
    for seed, scale in enumerate([{"device": "cuda", "processes": 4, "images_per_gpu": 2},
                                  {"device": "cuda", "processes": 2, "images_per_gpu": 2}]):
        d = write_record(root, "w1.00-1.00__voc_sgd_l1", seed, "done", value=70.0)
        records.write_json(d / SCALE_RECORD, {**scale, "iters": None, "epochs": 12,
                                              "paper_epochs": 12})
    [md, *_] = write_table(spec, profile="smoke", sweeps_root=root,
                           results_root=tmp_path / "results")
    text = md.read_text()
    assert ("> **Not the paper's scale: 2 GPU(s) (paper: 4) [1 of 2 runs]; batch 4 = 2 x 2 "
            "(paper: 8 = 4 x 2; LR scaled linearly) [1 of 2 runs].**") in text
    for d in root.glob("smoke/table1/*/seed*"):  # both at the paper's scale: no line
        records.write_json(d / SCALE_RECORD, {"device": "cuda", "processes": 4,
                                              "images_per_gpu": 2, "epochs": 12,
                                              "paper_epochs": 12})
    [md, *_] = write_table(spec, profile="smoke", sweeps_root=root,
                           results_root=tmp_path / "results")
    assert "Not the paper's scale" not in md.read_text()


def test_a_rehearsal_runs_the_tables_paper_cells_under_its_own_profile_name(tmp_path):
    from repro.sweep.expand import expand

    [job] = expand(load_table("6"), profile="paper-rehearsal", table_profile="paper",
                   sweeps_root=tmp_path, seeds=1, cells=["l1.00__l1"])
    assert "profile.gpus=2" in job.overrides and "profile.images_per_gpu=4" in job.overrides
    assert job.run_dir == tmp_path / "paper-rehearsal" / "table6" / "l1.00__l1" / "seed0"
    cfg, mm = built("6", "l1.00__l1", tmp_path, "rehearse='true'")
    assert cfg.profile.name == "paper-rehearsal"
    assert mm.train_dataloader.batch_size == 4  # the paper's images per GPU for Table 6
    assert mm.model.balancer.interval == 2  # ALWA's C, shortened so its update runs
    assert mm.train_cfg == {"type": "IterBasedTrainLoop", "max_iters": 3, "val_interval": 4}
    assert mm.test_dataloader.dataset.indices == 2
    assert [d.indices for d in mm.train_dataloader.dataset.dataset.datasets] == [12]
    assert mm.model.backbone.init_cfg == {"type": "Pretrained", "checkpoint": "/w/r50.pth"}
    assert mm.model.backbone.depth == 50 and mm.model.neck.out_channels == 256  # full width
    assert mm.auto_scale_lr["base_batch_size"] == 8
    assert undocumented(cfg, mm) == []
    _, one = built("6", "l1.00__l1", tmp_path, "rehearse='true'",
                   "profile.rehearsal.images_per_gpu=1")  # the deviation flag
    assert one.train_dataloader.batch_size == 1


def test_rehearse_needs_the_paper_profile(tmp_path):
    from repro.core.errors import ReproError
    from repro.sweep.preflight import check_job

    cfg, _ = built("1", "w1.00-1.00__voc_sgd_l1", tmp_path, "rehearse='true'", profile="smoke")
    with pytest.raises(ReproError, match="rehearse=true rehearses the paper profile; add "
                                         "profile=paper"):
        check_job(cfg, "cell x")


@pytest.mark.parametrize("table,cell_id", [("1", "w1.00-1.00__voc_sgd_l1"),
                                           ("hcral-7", "r50__testdev")])
def test_rehearsal_and_paper_configs_fit_the_schema(tmp_path, table, cell_id):
    from omegaconf import OmegaConf

    from repro.sweep.schema import check_config

    for extra in ((), ("rehearse='true'",)):
        cfg, _ = built(table, cell_id, tmp_path, *extra)
        groups = {g: OmegaConf.to_container(cfg[g]) for g in ("profile", "dataset", "detector")}
        check_config(groups, "cell x")  # lr_batch, warmup_start, dataset counts: known keys
