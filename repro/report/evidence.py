"""The numbers a claim is judged on: one estimate per cell, from the paper or from our runs.

A reproduced cell is the mean over its finished seeds; its standard error is the seed
noise of its domain (repro/report/noise.py: the pooled seed std of the cells with two or
more seeds, by default the reference cells run with `noise_seeds` seeds) / sqrt(n),
with that estimate's degrees of freedom. A comparison of a cell with its own reference
uses the table's delta, paired by seed where possible (`Source.diff`). Without any cell
of two seeds the error is unknown (`se=None`) and every verdict resting on it is
inconclusive. The paper's numbers are taken as exact (se 0): the paper prints no
spread. Where the paper prints deltas (ALWA Table 1) they are turned back into absolute
values against its baseline row (of the row's group), so every claim kind compares
absolute cells of one source.

Sums and differences of independent cells add their errors in quadrature and keep the
smallest of their degrees of freedom (conservative). A quantity is significantly above
a threshold when it exceeds it by more than t(0.975, dof) standard errors, below when
it falls short by as much; in between it is within the noise. A cell whose training
diverged or overflowed (ALWA Table 4's "nan", "overflow") is an outcome, not a number:
worse than any number. Anything else without a number (missing, running, oom, corrupt)
is no data.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import pandas as pd

from repro.core.outcomes import NAMED_OUTCOMES
from repro.report.noise import critical
from repro.table.spec import TableSpec


@dataclass(frozen=True)
class Estimate:
    value: float
    se: float | None  # None: unknown (one seed per cell, nothing to pool)
    dof: float = math.inf  # of the noise estimate behind se (inf: exact, the paper's)

    def __sub__(self, other: "Estimate") -> "Estimate":
        return Estimate(self.value - other.value, quadrature([self.se, other.se]),
                        min(self.dof, other.dof))

    def above(self, threshold: float = 0.0) -> bool | None:
        """True: above `threshold` by more than t(0.975, dof) standard errors; False:
        below it by as much (an exact value: at or below it); None: within the noise,
        or no noise estimate."""
        d = self.value - threshold
        if self.se is None:
            return None
        if self.se == 0:
            return d > 0
        margin = critical(self.dof) * self.se
        return True if d > margin else False if d < -margin else None

    def margin(self) -> float | None:
        """Half-width of the 95% interval (None: unknown)."""
        return None if self.se is None else critical(self.dof) * self.se

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
                    None if se is None else se / len(estimates),
                    min(e.dof for e in estimates))


@dataclass(frozen=True)
class Source:
    """The cells of one table as one source reports them (the paper, or our runs)."""
    name: str
    cells: dict  # (row id, column id) -> Estimate | "nan" | "overflow"; absent: no data
    exact: bool = False
    # (cell, its reference) -> the table's delta (paired by seed where possible)
    deltas: dict = field(default_factory=dict)
    noise: str = ""  # the measured noise, in words (for the claims' numbers)

    def get(self, row: str, column: str):
        return self.cells.get((row, column))

    def diff(self, a: tuple, b: tuple) -> Estimate:
        """Cell a - cell b: the table's own delta where b is a's reference, else the
        unpaired difference of the two estimates."""
        return self.deltas.get((a, b)) or (self.cells[a] - self.cells[b])

    @property
    def no_noise(self) -> bool:
        return any(isinstance(v, Estimate) and v.se is None for v in self.cells.values())

    def caveat(self) -> str:
        if self.exact:
            return ""
        if self.no_noise:
            return " (no noise estimate: no cell with 2 seeds; noise_seeds=5 or seeds=3)"
        return f" ({self.noise})" if self.noise else ""


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


def _number(x) -> float | None:
    return None if x is None or x != x else float(x)


def reproduced_source(cells: pd.DataFrame) -> Source:
    """From `repro.report.cells.cell_table`: one row per cell with its mean, n, state,
    its domain's noise and its delta to its reference."""
    out, deltas, sigmas = {}, {}, {}
    for e in cells.to_dict("records"):
        key, state = (e["row"], e["column"]), e["state"]
        sigma = _number(e.get("noise_sigma"))
        if sigma is not None:
            sigmas[sigma] = int(e["noise_dof"])
        if state == "done":
            out[key] = Estimate(float(e["reproduced"]),
                                None if sigma is None else sigma / math.sqrt(e["n"]),
                                int(e["noise_dof"]) if sigma is not None else math.inf)
        elif state in NAMED_OUTCOMES:
            out[key] = state
        if _number(e.get("reproduced_delta")) is not None and e.get("reference_row") is not None:
            se = _number(e.get("delta_se"))
            deltas[(key, (e["reference_row"], e["reference_column"]))] = Estimate(
                float(e["reproduced_delta"]), se, int(e["delta_dof"]) if se is not None
                else math.inf)
    noise = ""
    if sigmas:
        lo, hi = min(sigmas), max(sigmas)
        noise = (f"seed noise σ {lo:.2f}" if lo == hi else f"seed noise σ {lo:.2f} to {hi:.2f}") \
            + f", dof {min(sigmas.values())}+"
    return Source("reproduced", out, deltas=deltas, noise=noise)
