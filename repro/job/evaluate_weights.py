"""Evaluate a finished cell's kept weights (keep_weights=true) on another test split of
its dataset, with the cell's own config, test pipeline and metric: how the noise
benchmark (scripts/benchmark_noise.py --test-split) tells the part of a cell's
seed-to-seed spread that comes from the test split's size from the part that comes from
training."""
from __future__ import annotations

from pathlib import Path

from omegaconf import OmegaConf

from repro.job.headline import headline


def evaluate_weights(run_dir: Path, data_root: Path, work_dir: Path) -> float | None:
    """The record's number (repro/job/headline.py) for `run_dir`'s weights.pth on the
    dataset under `data_root` (the same layout: repro/data/synthetic.write_test_split)."""
    from repro.job.mmdet_config import build_mmdet_config
    from repro.job.train import build_runner

    cfg = OmegaConf.load(Path(run_dir) / "config.yaml")
    cfg.profile.data_root = str(data_root)
    # The kept weights replace every parameter: no pretrained initialisation to load
    # (under smoke it would train the stand-in backbone again under data_root).
    if cfg.profile.get("backbone"):
        cfg.profile.backbone.pretrained = False
    mm = build_mmdet_config(cfg, Path(work_dir))
    mm.load_from = str(Path(run_dir) / "weights.pth")
    mm.log_level = "WARNING"  # the benchmark prints its own lines
    runner = build_runner(mm, threads=cfg.profile.get("threads"))
    value, _ = headline(dict(runner.test()), cfg.dataset.metric_key)
    return value
