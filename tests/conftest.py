import contextlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from repro.core import records
from slurm_cluster import slurm  # noqa: F401 - session fixture: a real one-node SLURM

ROOT = Path(__file__).resolve().parents[1]


@contextlib.contextmanager
def tmpfs(mnt: Path, options: str):
    """A tmpfs mounted on `mnt` (e.g. "size=256k": a disk that really fills; "ro": one
    that refuses even root). The tests run as root, as CI does."""
    mnt.mkdir(exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(mnt)], check=True)
    try:
        yield mnt
    finally:
        subprocess.run(["umount", str(mnt)], check=True)


def run_repro(*args, tmp_path: Path, module: str = "repro", timeout: int = 600, env=None):
    """`python -m repro ...` as a user runs it, with run folders and results in tmp_path.

    A sweep runs its reference cells with the profile's noise_seeds (5 under smoke); the
    tests that are not about the noise estimate run one seed (noise_seeds=1) unless they
    name noise_seeds themselves (tests/test_noise_sweep.py does)."""
    if module == "repro" and "-m" in args and not any(a.startswith("noise_seeds=") for a in args):
        args = (*args, "noise_seeds=1")
    cmd = [sys.executable, "-m", module, *args,
           f"sweeps_root={tmp_path / 'sweeps'}", f"results_root={tmp_path / 'results'}"]
    full_env = {**os.environ, "REPRO_DATA_ROOT": str(DATA_ROOT), **(env or {})}
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout,
                          env=full_env)


# The synthetic datasets are generated once per test session (deterministic, so sharing
# them across tests changes nothing but time).
DATA_ROOT = Path(os.environ.get("REPRO_TEST_DATA_ROOT", ROOT / "data"))


@pytest.fixture
def repro(tmp_path):
    def call(*args, **kw):
        return run_repro(*args, tmp_path=tmp_path, **kw)
    call.tmp_path = tmp_path
    return call


def write_record(root: Path, cell: str, seed: int, state: str, value=None, reason=None) -> Path:
    """A hand-written run record of Table 1 under the smoke profile (report tests)."""
    d = root / "smoke" / "table1" / cell / f"seed{seed}"
    records.write_json(d / records.STATUS, {"state": state, "reason": reason, "seconds": 3.0})
    if value is not None:
        records.write_json(d / records.METRICS, {"metric": "mAP", "value": value})
    return d


# With pytest-xdist workers (make test; --dist loadgroup in pyproject.toml) the tests on
# a local SLURM share one worker, so one cluster (and one slurmdbd) starts, as in a
# serial run.
SLURM_FIXTURES = {"slurm", "accounted_slurm"}


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook reads the xdist_group marks
def pytest_collection_modifyitems(config, items):
    for item in items:
        if SLURM_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.xdist_group("slurm"))
