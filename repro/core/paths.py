"""Where things live: the project checkout, its configs, and the run-folder scheme."""
from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]  # repro/core/paths.py
# The config tree every command and Hydra read: the checkout's conf/, or a copy of it
# named by REPRO_CONF_DIR (tests/test_bad_input.py writes its broken tables there).
CONF_DIR = Path(os.environ.get("REPRO_CONF_DIR") or PROJECT_ROOT / "conf").resolve()


def project_path(p: str | Path) -> Path:
    """A path from a config: absolute as given, relative ones against the checkout."""
    p = Path(p).expanduser()
    return p if p.is_absolute() else PROJECT_ROOT / p


def run_dir(sweeps_root: str | Path, profile: str, table_id: str, cell_id: str, seed: int) -> Path:
    """A cell's folder is a pure function of its identity (architecture.md)."""
    return project_path(sweeps_root) / profile / table_id / cell_id / f"seed{seed}"
