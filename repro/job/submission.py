"""COCO test-dev: the harness writes the detections file the evaluation server scores.

A dataset entry with `format_only: true` (conf/dataset/coco_testdev.yaml) tests on
test-dev (paper profile: `annotations/image_info_test-dev2017.json`, images `test2017/`;
smoke profile: the embedded COCO stand-in's test images, which have no hidden split)
with MMDetection's CocoMetric in `format_only` mode: it writes
`<run folder>/detections_test-dev2017_<cell>_results.bbox.json` and returns no score.
Upload it (renamed to `.json`, zipped) to the COCO server, then enter the server's
numbers with `python -m repro.enter` (repro/enter.py), which writes the cell's
metrics.json as any other metric.
"""
from __future__ import annotations

from pathlib import Path

from mmengine.config import Config
from omegaconf import DictConfig

SUBMISSION_GLOB = "detections_test-dev2017_*_results.bbox.json"


def submission_prefix(run_dir: Path, cell: str | None) -> Path:
    return Path(run_dir) / f"detections_test-dev2017_{cell or 'single'}_results"


def apply_submission(mm: Config, cfg: DictConfig, run_dir: Path) -> None:
    ds = cfg.dataset
    if not ds.get("format_only"):
        return
    test = mm.test_dataloader.dataset
    ann_file = mm.test_evaluator.ann_file  # the stand-in's, set by apply_dataset (smoke)
    if not cfg.profile.synthetic:
        test.ann_file = ds.test_ann
        test.data_prefix = dict(img=ds.test_images)
        ann_file = str(Path(test.data_root) / ds.test_ann)
    mm.test_evaluator = dict(type="CocoMetric", metric="bbox", format_only=True,
                             ann_file=ann_file,
                             outfile_prefix=str(submission_prefix(run_dir, cfg.get("cell"))))


def awaiting_server(cfg: DictConfig, run_dir: Path, iterations: int) -> dict:
    """The metrics record of a format-only run: no score yet, the file to upload.
    `python -m repro.enter` replaces `value` with the server's number."""
    files = sorted(Path(run_dir).glob(SUBMISSION_GLOB))
    return {"metric": cfg.dataset.metric, "value": None, "scale": "0-100",
            "iterations": iterations, "source": "awaiting evaluation server",
            "submission": files[0].name if files else None}
