"""Which experiment trackers a sweep's runs write to (`trackers=`), and the check of it.

Pure (no torch, no mmengine): the command line is checked with it before Hydra runs
(repro/cli.py), the composed config again before any job starts (repro/sweep/run.py),
and the job's hook (repro/job/tracking.py) builds the backends it names.

Every tracker here is one of mmengine's visualization backends and works offline:
TensorBoard event files in each run folder (the default; `tensorboard` is a pinned
dependency), MLflow with a local file store (one per table folder), Weights & Biases in
offline mode (`wandb sync` uploads later). MLflow and W&B are optional packages.
"""
from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from typing import Any

from repro.core.errors import ReproError

EVENTS_GLOB = "events.out.tfevents.*"  # TensorBoard's event files, in the run folder
MLFLOW_DIR = "mlruns"                  # MLflow's file store, in the table's folder


@dataclass(frozen=True)
class Tracker:
    module: str   # what the backend imports
    install: str  # how to get it


TRACKERS = {
    "tensorboard": Tracker("tensorboard", "bash scripts/setup.sh (tensorboard is pinned in "
                                          "pyproject.toml)"),
    "mlflow": Tracker("mlflow", ".venv/bin/pip install -e '.[mlflow]' (mlflow-skinny)"),
    "wandb": Tracker("wandb", ".venv/bin/pip install -e '.[wandb]'"),
}


def parse_trackers(value: Any) -> list[str]:
    """`trackers=[tensorboard,mlflow]`, `trackers=wandb`, `trackers=[]` (none)."""
    if value is None:
        return []
    names = [value] if isinstance(value, str) else list(value)
    bad = [n for n in names if not isinstance(n, str) or n not in TRACKERS]
    if bad or len(set(names)) != len(names):
        raise ReproError(f"trackers={_show(names)}: name each of {', '.join(TRACKERS)} at most "
                         f"once, e.g. trackers=[tensorboard,mlflow] (trackers=[] for none)")
    return names


def check_trackers(value: Any) -> list[str]:
    """The tracker names, refused when one's package is not installed (nothing written)."""
    names = parse_trackers(value)
    for name in names:
        tracker = TRACKERS[name]
        if importlib.util.find_spec(tracker.module) is None:
            raise ReproError(f"trackers={_show(names)}: {name} needs the {tracker.module} "
                             f"package, which is not installed; install it with: "
                             f"{tracker.install}, or leave {name} out (the default, "
                             f"trackers=[tensorboard], needs nothing more)")
    return names


def _show(names: list) -> str:
    return "[" + ",".join(str(n) for n in names) + "]"
