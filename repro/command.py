"""The `repro` console script (pyproject.toml): `repro ARGS` is `python -m repro ARGS`.

It runs repro/__main__.py as the main module, exactly as `python -m` does, so Hydra
finds the same configs, names the job the same and writes the same run folders.
"""
from __future__ import annotations

import runpy


def main() -> None:
    runpy.run_module("repro", run_name="__main__", alter_sys=True)
