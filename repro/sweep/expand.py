"""A table's sweep: cells x seeds -> jobs (overrides and run folder), minus what is done.

Pure: reads the table spec and the run records, imports neither Hydra's runtime nor
torch, so planning and skip-done stay fast.
"""
from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

from repro.core import records
from repro.core.errors import ReproError
from repro.core.paths import run_dir
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


def parse_noise_seeds(value: Any) -> int:
    """`noise_seeds=5`: the reference cells run seeds 0..4 (at least)."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 1:
        return value
    raise ReproError(f"noise_seeds={value!r}: give a count >= 1 (noise_seeds=5: the cells "
                     f"a table compares against run seeds 0..4; 1: no extra seeds)")


def cell_seeds(spec: TableSpec, seeds: Any, noise_seeds: Any = 1) -> dict[str, list[int]]:
    """Cell id -> its seeds: `seeds` for every cell, and for the table's noise cells
    (its reference cells, repro/table/spec.py) also 0..noise_seeds-1, so that every
    sweep measures its own seed-to-seed noise (repro/report/noise.py)."""
    base, k = parse_seeds(seeds), parse_noise_seeds(noise_seeds)
    noisy = {c.id for c in spec.noise_cells()}
    extra = [s for s in range(k) if s not in base]
    return {c.id: base + extra if c.id in noisy else base for c in spec.cells()}


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


def override_key(override: str) -> str:
    """The key (or group) a command-line override sets: `+balancer.x=1` -> `balancer.x`."""
    return override.split("=", 1)[0].lstrip("+~")


def check_no_conflicts(spec: TableSpec, user_overrides: Iterable[str], profile: str = "") -> None:
    """A command-line override of a key the table sets per cell would be ambiguous."""
    table_keys = {k for c in spec.cells() for k in
                  {**spec.fixed, **spec.fixed_by_profile.get(profile, {}),
                   **c.column.set, **c.row.set}}
    for o in user_overrides:
        key = override_key(o)
        if key in table_keys:
            raise ReproError(f"table {spec.name} sets {key} itself (per cell); remove "
                             f"'{o}' from the command line, or edit conf/table/{spec.name}.yaml")


def expand(spec: TableSpec, *, profile: str, sweeps_root: str | Path, seeds: Any,
           cells: Iterable[str] | None = None, user_overrides: Iterable[str] = (),
           noise_seeds: Any = 1, table_profile: str | None = None) -> list[Job]:
    """Jobs of a table under `profile` (their run folders' profile name); the table's
    fixed_by_profile entry is `table_profile`'s where given (a rehearsal: paper's)."""
    user_overrides = [o for o in user_overrides if not o.startswith(("cell=", "seed="))]
    settings = table_profile or profile
    check_no_conflicts(spec, user_overrides, settings)
    per_cell = cell_seeds(spec, seeds, noise_seeds)
    return [Job(cell, seed, run_dir(sweeps_root, profile, spec.id, cell.id, seed),
                [*user_overrides, *cell.overrides_for(settings), f"cell={cell.id}",
                 f"seed={seed}"])
            for cell in select_cells(spec, cells) for seed in per_cell[cell.id]]


def pending(jobs: Iterable[Job], *, retry_failed: bool = False, force: bool = False) -> list[Job]:
    """What a (re)launch runs: jobs with no record yet or an interrupted one (`running`:
    it resumes; run_sweep leaves out those a live job still holds); `failed` ones too with
    `retry_failed` (a diverged run is a result, kept by default); every job with `force`."""
    if force:
        return list(jobs)
    skip = {records.DONE} if retry_failed else {records.DONE, records.FAILED}
    return [j for j in jobs if (records.read_status(j.run_dir) or {}).get("state") not in skip]
