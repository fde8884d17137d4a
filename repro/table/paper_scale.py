"""A table's paper scale, and what a run did differently: "not the paper's scale".

The paper's scale of a table is the paper profile's (conf/profile/paper.yaml: device,
GPUs, images per GPU; ALWA section 4.1: 4 x 2) under the table's own `fixed_by_profile`
entry for `paper` (ALWA Table 6: 2 GPUs x 4 images; HCRAL: 8 x 2, its section 4.1).
Its batch is what the optimizer entries' LRs are for (auto_scale_lr's base, so any
other batch scales the LR linearly: repro/job/mmdet_config.py::apply_runtime).

A job writes what it ran at into its run folder's scale.json (repro/job/profile_scale.py
::scale_record); `departures` names, from that record, every setting off the paper's
scale (device, GPU count, batch, schedule, images), which the report's header shows.
Pure: YAML and dicts only (no torch, no mmdet).
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import yaml

from repro.core.paths import CONF_DIR

SCALE_RECORD = "scale.json"  # in each run folder, beside status.json


@dataclass(frozen=True)
class PaperScale:
    device: str
    gpus: int
    images_per_gpu: int

    @property
    def batch(self) -> int:
        return self.gpus * self.images_per_gpu


@lru_cache(maxsize=1)
def _paper_profile() -> dict:
    return yaml.safe_load((CONF_DIR / "profile" / "paper.yaml").read_text())


def paper_scale(fixed_by_profile: dict | None) -> PaperScale:
    """The paper's device, GPUs and images per GPU for a table (its fixed_by_profile)."""
    raw, over = _paper_profile(), (fixed_by_profile or {}).get("paper") or {}
    get = lambda key: over.get(f"profile.{key}", raw[key])  # noqa: E731
    return PaperScale(device=str(get("device")), gpus=int(get("gpus")),
                      images_per_gpu=int(get("images_per_gpu")))


def departures(run: dict, paper: PaperScale) -> list[str]:
    """Each way a run (its scale.json) left the paper's scale, as a short phrase."""
    out = []
    if run.get("device") != paper.device:
        out.append(f"device {run.get('device')} (paper: {paper.device})")
    procs, ipg = int(run.get("processes") or 1), int(run.get("images_per_gpu") or 0)
    if run.get("device") == paper.device and procs != paper.gpus:
        out.append(f"{procs} GPU(s) (paper: {paper.gpus})")
    if procs * ipg != paper.batch or ipg != paper.images_per_gpu:
        out.append(f"batch {procs * ipg} = {procs} x {ipg} (paper: {paper.batch} = "
                   f"{paper.gpus} x {paper.images_per_gpu}; LR scaled linearly)")
    if run.get("iters") is not None:
        out.append(f"schedule {run['iters']} iterations (paper: {run.get('paper_epochs')} epochs)")
    elif run.get("epochs") != run.get("paper_epochs"):
        out.append(f"schedule {run.get('epochs')} epochs (paper: {run.get('paper_epochs')})")
    for split in ("train", "test"):
        n = run.get(f"{split}_images")
        if n is not None:
            out.append(f"{split} images: the first {n} (paper: all)")
    if run.get("image_scale") is not None:
        w, h = run["image_scale"]
        out.append(f"image scale {w}x{h} (paper: the shipped config's)")
    if run.get("backbone"):
        out.append(f"backbone {run['backbone']} (paper: ImageNet full width)")
    return out
