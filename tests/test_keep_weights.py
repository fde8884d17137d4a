"""keep_weights=true keeps a finished cell's final weights even when the profile saves no
periodic checkpoints (the smoke default, profile.checkpoint=null): before this, it kept
nothing there, silently."""
from __future__ import annotations

import json

import torch

from conftest import run_repro

CELL = "w1.00-1.00__voc_sgd_l1"


def test_keep_weights_without_periodic_checkpoints(tmp_path):
    done = run_repro("table=1", "-m", f"cells=[{CELL}]", "profile.iters=6", "report=false",
                     "keep_weights=true", tmp_path=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    rd = tmp_path / "sweeps" / "smoke" / "table1" / CELL / "seed0"
    assert json.loads((rd / "status.json").read_text())["state"] == "done"
    weights = torch.load(rd / "weights.pth", weights_only=True)
    assert weights["meta"]["iter"] == 6
    assert any(k.startswith("backbone.") for k in weights["state_dict"])
    assert list((rd / "mmdet").glob("*.pth")) == []  # the checkpoint itself is not kept
