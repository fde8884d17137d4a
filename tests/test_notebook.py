"""notebooks/walkthrough.ipynb, executed (nbclient) against real smoke-profile runs.

Three short trainings of ALWA Table 2 (Faster R-CNN R50 with L1: the plain row on seeds
0 and 1, +ALWA_1 on seed 0; 20 iterations each) in a temporary sweeps root; the notebook
is pointed at it through its environment variables and run on this interpreter (a
kernelspec written to a temporary JUPYTER_PATH, so nothing needs installing first).
"""
import json
import statistics
import sys
from pathlib import Path

import pytest

from conftest import run_repro

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "notebooks" / "walkthrough.ipynb"


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("walkthrough")
    env = {"REPRO_LOCAL_JOBS": "1"}
    for cells, seeds in (("faster_r50__l1", 2), ("faster_r50_alwa1__l1", 1)):
        r = run_repro("table=2", "-m", f"cells=[{cells}]", f"seeds={seeds}", "profile.iters=20",
                      "report=false", tmp_path=tmp, env=env)
        assert r.returncode == 0, r.stderr[-3000:]
    return tmp


def _kernel(tmp: Path) -> str:
    """A kernelspec for this very interpreter (the venv's python), in a temporary dir."""
    spec = tmp / "jupyter" / "kernels" / "repro-test" / "kernel.json"
    spec.parent.mkdir(parents=True)
    spec.write_text(json.dumps({"argv": [sys.executable, "-m", "ipykernel_launcher", "-f",
                                         "{connection_file}"],
                                "display_name": "repro test", "language": "python"}))
    return "repro-test"


def _outputs(cell) -> str:
    text = []
    for out in cell.get("outputs", []):
        if out.get("output_type") == "stream":
            text.append(out["text"])
        for kind in ("text/plain", "text/markdown"):
            text.append(out.get("data", {}).get(kind, ""))
    return "".join(text)


@pytest.mark.training
def test_walkthrough_runs_on_real_records(runs, tmp_path, monkeypatch):
    import nbformat
    from nbclient import NotebookClient

    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(tmp_path / "runtime"))
    monkeypatch.setenv("IPYTHONDIR", str(tmp_path / "ipython"))
    monkeypatch.setenv("REPRO_TABLE", "2")
    monkeypatch.setenv("REPRO_PROFILE", "smoke")
    monkeypatch.setenv("REPRO_SWEEPS_ROOT", str(runs / "sweeps"))
    monkeypatch.setenv("REPRO_RESULTS_ROOT", str(tmp_path / "results"))
    nb = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(nb, kernel_name=_kernel(tmp_path), timeout=300,
                   resources={"metadata": {"path": str(ROOT / "notebooks")}}).execute()
    out = {c.metadata["tags"][0]: _outputs(c) for c in nb.cells
           if c.cell_type == "code" and c.metadata.get("tags")}

    assert "ALWA Table 2 (table2): 12 rows x 3 columns" in out["setup"]
    assert "3 run records; 3 done" in out["frame"]
    # the plain row's mean over its two seeds, as the records hold it
    base = [json.loads((runs / "sweeps" / "smoke" / "table2" / "faster_r50__l1" / f"seed{s}" /
                        "metrics.json").read_text())["value"] for s in (0, 1)]
    alwa = json.loads((runs / "sweeps" / "smoke" / "table2" / "faster_r50_alwa1__l1" / "seed0" /
                       "metrics.json").read_text())["value"]
    row = next(l for l in out["table"].splitlines() if l.startswith("| Faster R-CNN (R50) (ref"))
    assert row.split(" | ")[1] == (f"{statistics.fmean(base):.2f} ± {statistics.stdev(base):.2f} "
                                   f"(n=2); paper 74.34; diff {statistics.fmean(base) - 74.34:+.2f}")
    row = next(l for l in out["table"].splitlines() if l.startswith("| +ALWA_1 (R50) |")
               and "n=1" in l)
    assert f"{alwa:.2f} ({alwa - statistics.fmean(base):+.2f}) (n=1); paper 75.76 (+1.42)" in row
    assert "faster_r50_alwa1" in out["cells"] and "faster_r50" in out["cells"]
    assert ("about_one_point: paper 'holds', reproduced 'not enough data'" in out["claims"])
    assert "alwa_improves_every_baseline: paper 'does not hold'" in out["claims"]
    figures = out["figures"].splitlines()
    assert "smoke/figures/table2_bars.png" in figures
    assert "smoke/figures/runs/table2_faster_r50_alwa1__l1_seed0_balancer.png" in figures
    images = [o for c in nb.cells for o in c.get("outputs", []) if "image/png" in o.get("data", {})]
    assert len(images) == 2
    assert (tmp_path / "results" / "smoke" / "table2.md").is_file()
    assert "faster_r50" in out["spread"]
