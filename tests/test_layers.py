"""The layers of docs/architecture.md hold: no import from a lower layer to a higher one
(or into a sibling of the same tier), no module outside the layers, and no import circle.
The checker itself is shown to catch a planted violation and a planted circle."""
from __future__ import annotations

from pathlib import Path

import import_layers as layers

ROOT = Path(__file__).resolve().parents[1]
# Empty since the report's restructuring (issue 15 point 3 undid table <-> markdown <->
# latex); it must stay empty.
KNOWN_CIRCLES = []


def _project():
    known = layers.modules(ROOT, ("repro", "hydra_plugins"))
    return known, layers.imports(known)


def test_no_import_runs_upwards_or_sideways():
    known, found = _project()
    assert len(known) > 80 and len(found) > 250  # the walk saw the package
    assert layers.violations(found, known) == []


def test_no_import_circle_beyond_the_known_one():
    _, found = _project()
    assert layers.circles(found) == KNOWN_CIRCLES


def test_every_layer_is_documented():
    text = (ROOT / "docs" / "architecture.md").read_text()
    for layer, _, prefixes in layers.LAYERS:
        assert f"| {layer} |" in text, layer
        for p in prefixes:
            assert f"`{p.replace('.', '/')}" in text, p


def _package(tmp_path: Path, files: dict[str, str]) -> dict[str, Path]:
    for rel, text in files.items():
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return layers.modules(tmp_path, ("repro",))


def test_the_checker_catches_a_planted_upward_import_and_a_circle(tmp_path):
    known = _package(tmp_path, {
        "repro/__init__.py": "",
        "repro/core/__init__.py": "",
        "repro/core/records.py": "def f():\n    from repro.commands.plan import main\n",
        "repro/commands/__init__.py": "",
        "repro/commands/plan.py": "from repro.core import records\nmain = 1\n",
        "repro/mmdet/__init__.py": "",
        "repro/mmdet/hcral.py": "from ..report import table\n",
        "repro/report/__init__.py": "",
        "repro/report/table.py": "import repro.report.markdown\n",
        "repro/report/markdown.py": "from repro.report import table\n",
        "repro/elsewhere.py": "",
    })
    found = layers.imports(known)
    assert layers.violations(found, known) == [
        "repro.elsewhere: in no layer (add it to LAYERS in tests/import_layers.py and to "
        "docs/architecture.md)",
        "repro.core.records (line 2, core) imports repro.commands.plan, a higher layer "
        "(commands)",
        "repro.mmdet.hcral (line 1, mmdet adapter) imports repro.report.table, a sibling "
        "layer (report)",
    ]
    assert layers.circles(found) == [
        ["repro.commands.plan", "repro.core.records"],
        ["repro.report.markdown", "repro.report.table"],
    ]


def test_the_checker_allows_downward_and_same_layer_imports(tmp_path):
    known = _package(tmp_path, {
        "repro/__init__.py": "",
        "repro/core/__init__.py": "",
        "repro/core/errors.py": "",
        "repro/core/records.py": "from .errors import *\n",
        "repro/job/__init__.py": "",
        "repro/job/run_cell.py": "from repro.core import records\nimport repro.mmdet.hcral\n",
        "repro/mmdet/__init__.py": "",
        "repro/mmdet/hcral.py": "from repro.core.errors import *\n",
    })
    found = layers.imports(known)
    assert {(i.source, i.target) for i in found} == {
        ("repro.core.records", "repro.core.errors"), ("repro.job.run_cell", "repro.core.records"),
        ("repro.job.run_cell", "repro.mmdet.hcral"), ("repro.mmdet.hcral", "repro.core.errors")}
    assert layers.violations(found, known) == [] and layers.circles(found) == []
