"""The cell model: one row per cell of a paper table, from the run records.

Each cell holds the reproduced value (mean, std over seeds, n), the paper's, and how they
differ. A cell may have a reference (repro/table/spec.py, `TableSpec.reference`): the
baseline row of its group (ALWA Tables 1, 2, 4) or the row's baseline column ("Initial"
in Tables 3 and 5). Where the paper prints deltas against a baseline row (Table 1), the
reproduced numbers are deltas against the *reproduced* baseline row, so the two compare
like for like; elsewhere a cell holds both absolute values, each with its difference to
its own reference, and reproduced - paper. Cells without a number say why in `state`:
running, missing, corrupt, failed (reason), nan, overflow. Their text is
repro/report/cell_text.py's. A cell with a number whose other seeds did not finish (a
diverged seed, one still running) says which in `excluded` ("seed 1 nan"): the mean is
over the finished seeds only, and a diverged seed is a result that must show.
"""
from __future__ import annotations

import statistics

import pandas as pd

from repro.core.outcomes import NAMED_OUTCOMES
from repro.report import noise
from repro.table.spec import TableSpec

EMPTY = {"state": "missing", "mean": None, "std": None, "n": 0, "excluded": None}
# The order in which a cell without a finished seed names its outcome.
UNFINISHED = ("failed", "running", "awaiting server", "corrupt")


def _num(x) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and x == x


def summarize(group: pd.DataFrame) -> dict:
    """One cell over its seeds: mean, std, n of the finished runs, or the outcome."""
    seeds = list(group.seed) if "seed" in group else None
    return _summary(list(group.state), list(group.value), list(group.reason), seeds)


def _label(state: str, reason) -> str:
    """'nan', 'overflow' (the paper's own outcomes), 'failed (oom)', 'running', ..."""
    if state != "failed" or not isinstance(reason, str):
        return state
    return reason if reason in NAMED_OUTCOMES else f"failed ({reason})"


def _summary(states: list, values: list, reasons: list, seeds: list | None = None) -> dict:
    finished = [s == "done" and v is not None and v == v for s, v in zip(states, values)]
    done = [v for ok, v in zip(finished, values) if ok]
    if done:
        seeds = seeds if seeds is not None else [None] * len(states)
        left = sorted((seed, _label(s, r)) for ok, seed, s, r in
                      zip(finished, seeds, states, reasons) if not ok and s in UNFINISHED)
        excluded = "; ".join(label if seed is None else f"seed {seed} {label}"
                             for seed, label in left) or None
        return {"state": "done", "mean": statistics.fmean(done),
                "std": statistics.stdev(done) if len(done) > 1 else 0.0, "n": len(done),
                "excluded": excluded}
    for state in UNFINISHED:
        hit = [r for s, r in zip(states, reasons) if s == state]
        if hit:
            reason = next((r for r in hit if isinstance(r, str)), None)
            return {**EMPTY, "state": _label(state, reason)}
    return dict(EMPTY)


def _by_cell(frame: pd.DataFrame) -> dict:
    """(row, column) -> summary, one pass over the frame (no per-group pandas work)."""
    seen: dict = {}
    for row, col, state, value, reason, seed in zip(frame.row, frame.column, frame.state,
                                                     frame.value, frame.reason, frame.seed):
        lists = seen.setdefault((row, col), ([], [], [], []))
        for i, x in enumerate((state, value, reason, seed)):
            lists[i].append(x)
    return {k: _summary(*v) for k, v in seen.items()}


def cell_table(spec: TableSpec, frame: pd.DataFrame) -> pd.DataFrame:
    """One row per cell: the paper's value, ours, and both against the cell's reference.

    reproduced_delta: our mean - our reference cell's mean; paper_delta: the paper's
    difference to its reference (as printed where the paper prints deltas); difference:
    ours - the paper's, in the paper's terms (a delta where it prints deltas).
    """
    by_cell = _by_cell(frame)
    deltas = spec.paper_values == "deltas"
    values = noise.seed_values(frame)
    domains, paired = noise.estimate(spec, values), noise.paired_spread(spec, values)
    out = []
    for cell in spec.cells():
        s = by_cell.get((cell.row.id, cell.column.id), EMPTY)
        ref = cell.reference
        paper = cell.paper_value
        dom = domains.get(noise.domain(spec, cell), noise.NO_NOISE)
        entry = {"row": cell.row.id, "row_label": cell.row.label, "row_group": cell.row.group,
                 "column": cell.column.id, "group": cell.column.group,
                 "column_label": cell.column.label, "paper": paper, "state": s["state"],
                 "reproduced": s["mean"], "std": s["std"], "n": s["n"],
                 "excluded": s["excluded"],
                 "reference_row": ref.row.id if ref else None,
                 "reference_column": ref.column.id if ref else None,
                 "reproduced_delta": None, "paper_delta": None, "difference": None,
                 "paper_is_delta": bool(deltas and ref is not None),
                 "noise_domain": noise.domain(spec, cell), "noise_sigma": dom.sigma,
                 "noise_dof": dom.dof,
                 "delta_se": None, "delta_dof": None, "delta_paired": None, "significant": None}
        if ref is not None:
            r = by_cell.get((ref.row.id, ref.column.id), EMPTY)
            d = None if s["mean"] is None or r["mean"] is None else noise.delta(
                values.get((cell.row.id, cell.column.id), {}),
                values.get((ref.row.id, ref.column.id), {}), dom,
                paired.get(noise.domain(spec, cell)))
            if d is not None:
                # The delta the verdicts test (paired by seed where that is possible).
                entry.update(reproduced_delta=d.value, delta_se=d.se, delta_dof=d.dof,
                             delta_paired=d.paired, significant=d.significant)
            if deltas:
                entry["paper_delta"] = paper if _num(paper) else None
            elif _num(paper) and _num(ref.paper_value):
                entry["paper_delta"] = paper - ref.paper_value
        mine = entry["reproduced_delta"] if entry["paper_is_delta"] else s["mean"]
        if _num(mine) and _num(paper):
            entry["difference"] = mine - paper
        out.append(entry)
    return pd.DataFrame(out)
