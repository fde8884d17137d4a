"""keep_weights=true keeps a finished cell's final weights even when the profile saves no
periodic checkpoints (the smoke default, profile.checkpoint=null: before, it kept nothing
there, silently); evaluated again (repro/job/evaluate_weights.py, the noise benchmark's
--test-split), they give the record's own number on the cell's own test split, and
another number on a fresh split from the same generator."""
from __future__ import annotations

import json

import torch

from conftest import DATA_ROOT, run_repro
from repro.data.synthetic import SPECS, write_test_split
from repro.job.evaluate_weights import evaluate_weights

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
    # The same weights on the same split: the record's number, exactly.
    value = json.loads((rd / "metrics.json").read_text())["value"]
    assert evaluate_weights(rd, DATA_ROOT, tmp_path / "again") == value
    # On 32 fresh test images from the same generator: a number of its own.
    split = write_test_split("voc", 32, tmp_path / "split", seed=SPECS["voc"].seed + 1000)
    listing = (split / "VOC2007/ImageSets/Main/test.txt").read_text().split()
    assert len(listing) == 32 and not (split / "VOC2012").exists()
    other = evaluate_weights(rd, split.parent, tmp_path / "other")
    assert isinstance(other, float) and other != value
