"""Checks on a composed cell config that run before any job starts.

No mmdet import: every key against its schema (repro/sweep/schema.py), values a user can
get wrong, a sweeps_root that cannot be written, and the files the paper profile needs
but cannot download (pretrained weights, datasets), down to their contents
(repro/sweep/dataset_check.py). A cell's balancer entry is checked by the rule itself
(repro/balancers/entry.py builds it once), which imports torch: only when a cell is
checked. The cells a launch will not run (done) have their values checked, not their
files.
"""
from __future__ import annotations

from omegaconf import DictConfig, OmegaConf

from repro.core.errors import ReproError
from repro.core.paths import project_path
from repro.sweep.dataset_check import (check_coco_split, check_voc_split, check_weights,
                                       check_writable, readable)
from repro.sweep.schema import check_config

# What a dataset folder must hold, per dataset family, for the paper profile.
REQUIRED = {
    "voc": lambda ds: [f"{s}/ImageSets/Main/{'test' if s == ds.test_set else 'trainval'}.txt"
                       for s in (*ds.train_sets, ds.test_set)],
    "coco": lambda ds: ["annotations/instances_train2017.json",
                        "annotations/instances_val2017.json", "train2017", "val2017"],
}
HOW_TO_GET = {
    "voc": "unpack VOCtrainval_11-May-2012.tar and VOC2007's trainval+test tars so that "
           "VOCdevkit/VOC2007 and VOCdevkit/VOC2012 exist",
    "coco": "unpack train2017.zip, val2017.zip and annotations_trainval2017.zip there",
}


def check_values(cfg: DictConfig, where: str, balancer: bool = True) -> None:
    """A cell's keys and values: what a launch checks on the cells it runs and on those it
    does not (done), so that a bad override is one line and exit 2 even when nothing
    runs. `balancer=False` leaves out the balancer entry's check (it builds the rule:
    torch), for a done cell whose balancer the command line does not set."""
    if balancer:
        from repro.balancers.entry import check_entry  # torch: only when a cell is checked

        check_entry(OmegaConf.to_container(cfg.balancer), where)
    # Every key of the groups against its schema (type, range, allowed values).
    check_config(OmegaConf.to_container(cfg, resolve=True), where)
    if cfg.dataset.family == "voc":
        unknown = set(cfg.dataset.train_sets) - {"VOC2007", "VOC2012"}
        if unknown or not cfg.dataset.train_sets:
            raise ReproError(f"{where}: dataset.train_sets={list(cfg.dataset.train_sets)} must "
                             f"name VOC2007 and/or VOC2012")
    if cfg.profile.get("rehearsal") and cfg.profile.synthetic:
        raise ReproError(f"{where}: rehearse=true rehearses the paper profile; add "
                         f"profile=paper (the smoke profile is a few seconds per cell already)")


def check_job(cfg: DictConfig, where: str) -> None:
    """A cell the launch will run: its values, then what it needs on disk (a writable
    sweeps_root; under the paper profile the datasets and weights, down to their
    contents)."""
    check_values(cfg, where)
    check_writable(str(project_path(cfg.sweeps_root)))
    if cfg.profile.synthetic:
        return
    ds = cfg.dataset
    root = project_path(cfg.profile.data_root) / ds.paper_path
    missing = [p for p in REQUIRED[ds.family](ds) if not (root / p).exists()]
    if missing:
        raise ReproError(
            f"{where}: the paper profile needs {ds.label} at {root}, but {root / missing[0]} "
            f"is missing. Download it ({HOW_TO_GET[ds.family]}), or point "
            f"profile.data_root (env REPRO_DATA_ROOT) at the folder holding {ds.paper_path}/")
    weights = cfg.profile.pretrained.get(cfg.detector.backbone)
    if weights is None:
        raise ReproError(f"{where}: no pretrained-weights entry for backbone "
                         f"{cfg.detector.backbone} in profile.pretrained")
    if not project_path(weights).is_file():
        raise ReproError(
            f"{where}: pretrained {cfg.detector.backbone} weights not found at "
            f"{project_path(weights)}. Copy torchvision's ImageNet checkpoint there "
            f"({project_path(weights).name}), or set "
            f"profile.pretrained.{cfg.detector.backbone}=/path/to/file (env REPRO_WEIGHTS_DIR "
            f"for the folder)")
    check_weights(str(project_path(weights)), cfg.detector.backbone)
    readable(root, f"{where}: {ds.label}")
    if ds.family == "voc":
        for year in ds.train_sets:
            check_voc_split(str(root), year, "trainval")
        check_voc_split(str(root), ds.test_set, "test")
    else:
        check_coco_split(str(root), "annotations/instances_train2017.json", "train2017")
        check_coco_split(str(root), "annotations/instances_val2017.json", "val2017")
