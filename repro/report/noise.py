"""How much of a difference is real: a table's seed-to-seed noise, and the significance
of every reproduced delta (issue 11).

Noise. Each cell belongs to a noise domain: its reference cell and every cell compared
with it (ALWA Table 1: a column's baseline row; Table 2: a detector's plain row in one
loss column; Tables 3, 5: a row's "Initial" cell), so that each comparison is judged by
the spread of its own detector and setting (Table 3's Double-Head R-CNN moves 15 mAP
from seed to seed where Libra R-CNN moves 1); a table without references (Table 6) uses
the cell of its `noise_rows` in the same column. A domain's noise sigma is the pooled
sample standard deviation over seeds of its cells that have at least two finished seeds,
with the pooled degrees of freedom sum(n_i - 1). By default that is the reference cell
alone, which the sweep runs with `noise_seeds` seeds (repro/table/spec.py
`noise_cells`, repro/sweep/expand.py); with `seeds=3` every cell of the domain adds to
it.

A delta (a cell against its reference) is

- paired by seed where the cell and its reference share at least two seeds and the
  domain has a paired spread to judge them by: the mean over the shared seeds of
  (cell - reference), whose standard error is the pooled standard deviation of those
  per-seed differences / sqrt(shared seeds). A seed fixes the initialisation and the
  data order, so the pairing removes what two runs of one seed share;
- otherwise unpaired: mean(cell) - mean(reference), standard error
  sigma * sqrt(1/n_cell + 1/n_reference) with the domain's sigma.

It is significant when |delta| > t(0.975, dof) * SE (two-sided, 95%); a delta without a
noise estimate (one seed everywhere) is never significant: its verdict is inconclusive.
Nor is one whose domain's seeds all scored the same (sigma 0: a smoke detector that
learned nothing scores 0.0 at every seed): a spread of zero is no measure of the noise,
and would make any difference at all "outside" it.

Pure: the run records' frame (repro/report/collect.py) and the table spec; no torch.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from repro.table.spec import Cell, TableSpec

LEVEL = 0.975  # one side of a two-sided 95% test
_T975 = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201,
         2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074,
         2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042)


def critical(dof: float) -> float:
    """Student's t quantile at 0.975 for `dof` degrees of freedom (inf: the normal's)."""
    if dof is None or dof < 1:
        return math.inf
    if math.isinf(dof):
        return 1.959964
    if dof <= len(_T975):
        return _T975[int(dof) - 1]
    # Beyond 30: t ~ z + (z^3 + z) / (4 dof), within 0.001 of the exact quantile.
    z = 1.959964
    return z + (z ** 3 + z) / (4 * dof)


@dataclass(frozen=True)
class Noise:
    """A domain's seed-to-seed noise: pooled std, its degrees of freedom, and how many
    cells (with how many seeds in all) it comes from."""
    sigma: float | None
    dof: int
    cells: int
    runs: int

    def text(self) -> str:
        if self.sigma is None and self.runs:
            return f"no estimate (its {self.runs} runs all scored the same)"
        if self.sigma is None:
            return "no estimate (no cell with 2 seeds)"
        return f"σ {self.sigma:.2f} ({self.cells} cell{'s' * (self.cells != 1)}, " \
               f"{self.runs} runs, dof {self.dof})"


NO_NOISE = Noise(None, 0, 0, 0)


@dataclass(frozen=True)
class Delta:
    value: float
    se: float | None
    dof: float
    paired: bool
    n: int  # seeds behind the comparison (shared seeds when paired)

    @property
    def significant(self) -> bool | None:
        """Outside the noise at 95%; None where there is no noise estimate."""
        if self.se is None:
            return None
        return bool(abs(self.value) > critical(self.dof) * self.se)


def domain(spec: TableSpec, cell: Cell) -> str:
    """The noise domain of a cell, named by the id of the cell whose seeds measure it:
    its reference; a reference cell itself; or, in a table without references, the
    noise row's cell of its column (else its column id)."""
    if cell.reference is not None:
        return cell.reference.id
    column_noise = [c for c in spec.noise_cells() if c.column.id == cell.column.id]
    if cell in column_noise or not column_noise:
        return cell.id if cell in spec.noise_cells() else cell.column.id
    return column_noise[0].id


def seed_values(frame: pd.DataFrame) -> dict:
    """(row, column) -> {seed: value} over the finished runs with a number."""
    out: dict = {}
    if frame.empty:
        return out
    done = frame[(frame.state == "done") & frame.value.notna()]
    for row, col, seed, value in zip(done.row, done.column, done.seed, done.value):
        out.setdefault((row, col), {})[int(seed)] = float(value)
    return out


def _pooled(groups: list[list[float]]) -> tuple[float | None, int]:
    dof = sum(len(g) - 1 for g in groups if len(g) > 1)
    if dof <= 0:
        return None, 0
    ss = 0.0  # plain floats: the records' values may come as numpy scalars
    for g in groups:
        if len(g) > 1:
            m = sum(g) / len(g)
            ss += sum((x - m) ** 2 for x in g)
    return float(math.sqrt(ss / dof)), int(dof)


def estimate(spec: TableSpec, values: dict) -> dict[str, Noise]:
    """Domain -> its Noise, from every cell with two or more finished seeds."""
    groups: dict[str, list[list[float]]] = {}
    for cell in spec.cells():
        v = values.get((cell.row.id, cell.column.id), {})
        groups.setdefault(domain(spec, cell), [])
        if len(v) > 1:
            groups[domain(spec, cell)].append(list(v.values()))
    out = {}
    for d, gs in groups.items():
        sigma, dof = _pooled(gs)
        runs = sum(len(g) for g in gs)
        out[d] = (NO_NOISE if sigma is None
                  else Noise(None, 0, len(gs), runs) if sigma == 0  # every seed the same
                  else Noise(sigma, dof, len(gs), runs))
    return out


def _shared(a: dict, b: dict) -> list[int]:
    return sorted(set(a) & set(b))


def paired_spread(spec: TableSpec, values: dict) -> dict[str, tuple[float | None, int]]:
    """Domain -> (pooled std of per-seed differences cell - reference, dof), over the
    cells that share two or more seeds with their reference."""
    groups: dict[str, list[list[float]]] = {}
    for cell in spec.cells():
        ref = cell.reference
        if ref is None:
            continue
        a = values.get((cell.row.id, cell.column.id), {})
        b = values.get((ref.row.id, ref.column.id), {})
        seeds = _shared(a, b)
        if len(seeds) > 1:
            groups.setdefault(domain(spec, cell), []).append([a[s] - b[s] for s in seeds])
    # A spread of zero (every shared seed the same difference) is no measure either.
    return {d: (sd, dof) if sd else (None, 0)
            for d, (sd, dof) in ((d, _pooled(gs)) for d, gs in groups.items())}


def delta(a: dict, b: dict, noise: Noise, paired: tuple[float | None, int] | None) -> Delta | None:
    """Cell `a` against its reference `b` ({seed: value} each); None without numbers."""
    if not a or not b:
        return None
    seeds = _shared(a, b)
    if paired is not None and paired[0] is not None and len(seeds) > 1:
        diffs = [a[s] - b[s] for s in seeds]
        return Delta(sum(diffs) / len(diffs), paired[0] / math.sqrt(len(seeds)), paired[1],
                     True, len(seeds))
    value = sum(a.values()) / len(a) - sum(b.values()) / len(b)
    se = None if noise.sigma is None else noise.sigma * math.sqrt(1 / len(a) + 1 / len(b))
    return Delta(value, se, noise.dof, False, min(len(a), len(b)))
