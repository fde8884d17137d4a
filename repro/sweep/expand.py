"""A table's sweep: cells x seeds -> jobs (overrides and run folder), minus what is done.

Pure: reads the table spec and the run records, imports neither Hydra's runtime nor
torch, so planning and skip-done stay fast.
"""
from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

from repro import records
from repro.errors import ReproError
from repro.paths import run_dir
from repro.table.spec import Cell, TableSpec


@dataclass(frozen=True)
class Job:
    cell: Cell
    seed: int
    run_dir: Path
    overrides: list[str]


def parse_seeds(value: Any) -> list[int]:
    """`seeds=3` -> [0, 1, 2]; `seeds=[0,5]` -> [0, 5]."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 1:
        return list(range(value))
    if isinstance(value, (list, tuple)) and value and all(
            isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in value):
        return list(dict.fromkeys(value))
    raise ReproError(f"seeds={value!r}: give a count >= 1 (seeds=3) or a list of "
                     f"non-negative seeds (seeds=[0,1,2])")


def select_cells(spec: TableSpec, patterns: Iterable[str] | None) -> list[Cell]:
    cells = spec.cells()
    if not patterns:
        return cells
    patterns = list(patterns)
    chosen = [c for c in cells if any(fnmatch.fnmatchcase(c.id, p) for p in patterns)]
    if not chosen:
        raise ReproError(f"cells={patterns} matches no cell of table {spec.name}; cell ids "
                         f"look like {cells[0].id} (<row>__<column>)")
    return chosen


def check_no_conflicts(spec: TableSpec, user_overrides: Iterable[str], profile: str = "") -> None:
    """A command-line override of a key the table sets per cell would be ambiguous."""
    table_keys = {k for c in spec.cells() for k in
                  {**spec.fixed, **spec.fixed_by_profile.get(profile, {}),
                   **c.column.set, **c.row.set}}
    for o in user_overrides:
        key = o.split("=", 1)[0].lstrip("+~")
        if key in table_keys:
            raise ReproError(f"table {spec.name} sets {key} itself (per cell); remove "
                             f"'{o}' from the command line, or edit conf/table/{spec.name}.yaml")


def expand(spec: TableSpec, *, profile: str, sweeps_root: str | Path, seeds: Any,
           cells: Iterable[str] | None = None, user_overrides: Iterable[str] = ()) -> list[Job]:
    user_overrides = [o for o in user_overrides if not o.startswith(("cell=", "seed="))]
    check_no_conflicts(spec, user_overrides, profile)
    return [Job(cell, seed, run_dir(sweeps_root, profile, spec.id, cell.id, seed),
                [*user_overrides, *cell.overrides_for(profile), f"cell={cell.id}",
                 f"seed={seed}"])
            for cell in select_cells(spec, cells) for seed in parse_seeds(seeds)]


def pending(jobs: Iterable[Job], *, retry_failed: bool = False, force: bool = False) -> list[Job]:
    """What a (re)launch runs: jobs with no record yet or an interrupted one (`running`:
    it resumes; run_sweep leaves out those a live job still holds); `failed` ones too with
    `retry_failed` (a diverged run is a result, kept by default); every job with `force`."""
    if force:
        return list(jobs)
    skip = {records.DONE} if retry_failed else {records.DONE, records.FAILED}
    return [j for j in jobs if (records.read_status(j.run_dir) or {}).get("state") not in skip]
