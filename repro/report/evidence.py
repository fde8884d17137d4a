"""The numbers a claim is judged on: one estimate per cell, from the paper or from our runs.

A reproduced cell is the mean over its finished seeds with the standard error of that
mean (sample std / sqrt(n)). A cell with one seed borrows the pooled seed std of the
table's cells that have several; when no cell has two seeds the error is unknown
(`se=None`) and verdicts fall back on signs, which the claim's text then says. The
paper's numbers are taken as exact (se 0): the paper prints no spread. Where the paper
prints deltas (ALWA Table 1) they are turned back into absolute values against its
baseline row (of the row's group), so every claim kind compares absolute cells of one
source.

Sums and differences of independent cells add their errors in quadrature. A cell whose
training diverged or overflowed (ALWA Table 4's "nan", "overflow") is an outcome, not a
number: worse than any number. Anything else without a number (missing, running, oom,
corrupt) is no data.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from repro.table.spec import NAMED_OUTCOMES, TableSpec


@dataclass(frozen=True)
class Estimate:
    value: float
    se: float | None  # None: unknown (one seed per cell, nothing to pool)

    def __sub__(self, other: "Estimate") -> "Estimate":
        return Estimate(self.value - other.value, quadrature([self.se, other.se]))

    def beyond(self, threshold: float = 0.0) -> bool:
        """The house rule: value > threshold by more than one standard error."""
        return self.value - threshold > (self.se or 0.0)

    def text(self, signed: bool = True) -> str:
        value = f"{self.value:+.2f}" if signed else f"{self.value:.2f}"
        return value if not self.se else f"{value} ± {self.se:.2f}"


def quadrature(errors) -> float | None:
    errors = list(errors)
    if any(e is None for e in errors):
        return None
    return math.sqrt(sum(e * e for e in errors))


def mean_of(estimates: list[Estimate]) -> Estimate:
    se = quadrature(e.se for e in estimates)
    return Estimate(sum(e.value for e in estimates) / len(estimates),
                    None if se is None else se / len(estimates))


@dataclass(frozen=True)
class Source:
    """The cells of one table as one source reports them (the paper, or our runs)."""
    name: str
    cells: dict  # (row id, column id) -> Estimate | "nan" | "overflow"; absent: no data
    exact: bool = False

    def get(self, row: str, column: str):
        return self.cells.get((row, column))

    @property
    def sign_only(self) -> bool:
        return any(isinstance(v, Estimate) and v.se is None for v in self.cells.values())

    def caveat(self) -> str:
        return " (1 seed per cell, spread unknown: signs only)" if self.sign_only else ""


def paper_source(spec: TableSpec) -> Source:
    cells = {}
    deltas = spec.paper_values == "deltas"
    for cell in spec.cells():
        value = cell.paper_value
        if isinstance(value, str):
            cells[(cell.row.id, cell.column.id)] = value
            continue
        if deltas and cell.reference is not None:
            offset = cell.reference.paper_value  # the group's baseline row, absolute
            if isinstance(offset, str):
                continue  # a delta to a diverged baseline has no absolute value
            value += offset
        cells[(cell.row.id, cell.column.id)] = Estimate(value, 0.0)
    return Source("paper", cells, exact=True)


def pooled_std(cells: pd.DataFrame) -> float | None:
    several = cells[(cells.state == "done") & (cells.n > 1)]
    dof = float((several.n - 1).sum())
    if dof <= 0:
        return None
    return math.sqrt(float(((several.n - 1) * several["std"].astype(float) ** 2).sum()) / dof)


def reproduced_source(cells: pd.DataFrame) -> Source:
    """From `repro.report.table.cell_table`: one row per cell with mean, std, n, state."""
    pooled = pooled_std(cells)
    out = {}
    for row, col, state, mean, std, n in zip(cells.row, cells.column, cells.state,
                                             cells.reproduced, cells["std"], cells.n):
        if state == "done":
            sd = float(std) if n > 1 else pooled
            out[(row, col)] = Estimate(float(mean), None if sd is None else sd / math.sqrt(n))
        elif state in NAMED_OUTCOMES:
            out[(row, col)] = state
    return Source("reproduced", out)
