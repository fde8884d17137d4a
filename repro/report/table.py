"""A paper table regenerated from the runs: the paper's layout, paper vs reproduction.

Each cell shows the reproduced value (mean +- std over seeds, n), the paper's, and how
they differ. A cell may have a reference (repro/table/spec.py, `TableSpec.reference`):
the baseline row of its group (ALWA Tables 1, 2, 4) or the row's baseline column
("Initial" in Tables 3 and 5). Where the paper prints deltas against a baseline row
(Table 1), the reproduced numbers are shown as deltas against the *reproduced* baseline
row, so the two compare like for like. Where it prints absolute values, a cell shows
both absolute values, each with its difference to its own reference in brackets, like
the paper's "74.83(+1.46)", and reproduced - paper. Cells without a number say why:
running, missing, corrupt, failed (reason), nan, overflow.
"""
from __future__ import annotations

import statistics
from pathlib import Path

import pandas as pd

from repro.core.outcomes import NAMED_OUTCOMES
from repro.core.paths import PROJECT_ROOT, project_path
from repro.report import noise
from repro.report.claims import evaluate, load_claims, render_claims, write_claims_csv
from repro.report.collect import collect
from repro.table.spec import TableSpec

PROFILE_NOTES = {
    "smoke": "smoke profile: synthetic CPU-sized data and a tiny backbone pretrained on a "
             "synthetic stand-in task; its numbers are NOT comparable to the paper's, only "
             "the layout and the direction of effects outside the noise are",
    "paper": "paper profile: the paper's datasets, backbones and schedules",
    "paper-rehearsal": "paper profile rehearsed (rehearse=true): every cell at the paper's "
                       "scale for a few iterations, evaluated on a few test images; its "
                       "numbers say only whether each cell trains and evaluates",
}
EMPTY = {"state": "missing", "mean": None, "std": None, "n": 0}


def _fmt(x: float, signed: bool = False) -> str:
    return f"{x:+.2f}" if signed else f"{x:.2f}"


def _num(x) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and x == x


def summarize(group: pd.DataFrame) -> dict:
    """One cell over its seeds: mean, std, n of the finished runs, or the outcome."""
    return _summary(list(group.state), list(group.value), list(group.reason))


def _summary(states: list, values: list, reasons: list) -> dict:
    done = [v for s, v in zip(states, values) if s == "done" and v is not None and v == v]
    if done:
        return {"state": "done", "mean": statistics.fmean(done),
                "std": statistics.stdev(done) if len(done) > 1 else 0.0, "n": len(done)}
    for state in ("failed", "running", "awaiting server", "corrupt"):
        hit = [r for s, r in zip(states, reasons) if s == state]
        if hit:
            reason = [r for r in hit if isinstance(r, str)]
            label = reason[0] if state == "failed" and reason else state
            if state == "failed" and label not in NAMED_OUTCOMES:
                label = f"failed ({label})"
            return {"state": label, "mean": None, "std": None, "n": 0}
    return dict(EMPTY)


def _by_cell(frame: pd.DataFrame) -> dict:
    """(row, column) -> summary, one pass over the frame (no per-group pandas work)."""
    seen: dict = {}
    for row, col, state, value, reason in zip(frame.row, frame.column, frame.state,
                                               frame.value, frame.reason):
        lists = seen.setdefault((row, col), ([], [], []))
        lists[0].append(state)
        lists[1].append(value)
        lists[2].append(reason)
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


def _missing(x) -> bool:
    return x is None or (isinstance(x, float) and x != x)


def cell_text(e, spec: TableSpec) -> str:
    """The text of one cell (a cell_table row: Series or dict), in the markdown and LaTeX."""
    return _delta_text(e) if spec.paper_values == "deltas" else _absolute_text(e)


def _delta_text(e) -> str:
    """ALWA Table 1's cells: ours against our baseline row, beside the paper's delta."""
    paper = e["paper"]
    paper = paper if isinstance(paper, str) else _fmt(paper, signed=e["paper_is_delta"])
    if _missing(e["reproduced"]):
        return f"{e['state']} (paper {paper})"
    if e["paper_is_delta"]:
        if _missing(e["reproduced_delta"]):
            return f"{_fmt(e['reproduced'])} abs, baseline missing (paper {paper})"
        value = _fmt(e["reproduced_delta"], signed=True) + significance_mark(e)
    else:
        value = _fmt(e["reproduced"])
    spread = f" ± {e['std']:.2f} (n={e['n']})" if e["n"] > 1 else ""
    return f"{value}{spread} (paper {paper})"


MARK = "*"


def significance_mark(e) -> str:
    """'*' on a reproduced delta outside the noise (repro/report/noise.py), '' otherwise."""
    v = e.get("significant")
    return MARK if v is not None and v == v and bool(v) else ""


def noise_legend(spec: TableSpec, cells: pd.DataFrame) -> str:
    """One sentence: what '*' means and the table's measured noise."""
    parts = []
    by_id = {c.id: c for c in spec.cells()}
    for key, group in cells.groupby("noise_domain", sort=False):
        sigma, dof = group.noise_sigma.iloc[0], group.noise_dof.iloc[0]
        ref = by_id.get(key)
        name = (f"{ref.column.group} {ref.column.label}".strip() if len(spec.rows) == 1 or
                spec.paper_values == "deltas" else
                f"{ref.row.label}" + ("" if len(spec.columns) == 1 or spec.baseline_column
                                      is not None else f" / {ref.column.label}")) \
            if ref is not None else key
        parts.append(f"{name} {'σ ' + _fmt(sigma) + f' (dof {int(dof)})' if not _missing(sigma) else 'no estimate'}")
    return (f"A reproduced delta marked {MARK} lies outside the seed-to-seed noise "
            "(|Δ| > t(0.975, dof) × SE, paired by seed where a cell shares 2+ seeds with its "
            "reference); unmarked: within the noise, or no noise estimate. Noise, the pooled "
            "seed std: " + "; ".join(parts) + ".")


def _absolute_text(e) -> str:
    """'74.83 (+1.46) ± 0.30 (n=3); paper 74.83 (+1.46); diff +0.00'."""
    paper = e["paper"]
    if isinstance(paper, str):
        shown = paper
    else:
        shown = _fmt(paper) + ("" if _missing(e["paper_delta"])
                               else f" ({_fmt(e['paper_delta'], signed=True)})")
    if _missing(e["reproduced"]):
        return f"{e['state']}; paper {shown}"
    ours = _fmt(e["reproduced"])
    if not _missing(e["reproduced_delta"]):
        ours += f" ({_fmt(e['reproduced_delta'], signed=True)}{significance_mark(e)})"
    ours += f" ± {e['std']:.2f} (n={e['n']})" if e["n"] > 1 else f" (n={e['n']})"
    diff = "" if _missing(e["difference"]) else f"; diff {_fmt(e['difference'], signed=True)}"
    return f"{ours}; paper {shown}{diff}"


def legend(spec: TableSpec) -> list[str]:
    """What a cell says and what it is compared against, one sentence each."""
    if spec.paper_values == "deltas":
        return [f"Row {spec.baseline_row.label} is absolute; the other rows are differences "
                f"to it, the paper's as printed and ours against our own baseline row.",
                "Each cell: reproduced [± std (n seeds)] (paper value)."]
    lines = ["Each cell: reproduced mean (its difference to the reference) ± std over seeds "
             "(n seeds); the paper's value (its difference to the paper's reference); "
             "diff = reproduced − paper."]
    col = spec.baseline_column
    if col is not None:
        lines.append(f"Reference: the same row's {col.label} column.")
    elif len(spec.groups) == 1 and spec.baseline_row is not None:
        lines.append(f"Reference: the {spec.baseline_row.label} row, same column.")
    elif any(r.baseline for r in spec.rows):
        bases = [r for r in spec.rows if r.baseline]
        lines.append("Reference: the baseline row of the row's group, same column ("
                     + ", ".join(b.label for b in bases) + ").")
    return lines


def write_table(spec: TableSpec, *, profile: str, sweeps_root, results_root,
                frame: pd.DataFrame | None = None, claims: list | None = None) -> list[Path]:
    """<table>.md, .csv, .tex and _claims.csv under results/<profile>/; their paths.

    The CSV has one row per cell; the table's note (if any) is its `note` column, so a
    plain pandas.read_csv reads it.
    """
    from repro.report import latex, markdown  # they format cells with cell_text

    if frame is None:
        frame = collect(spec, profile=profile, sweeps_root=sweeps_root)
    cells = cell_table(spec, frame)
    verdicts = evaluate(spec, load_claims(spec) if claims is None else claims, cells)
    out = project_path(results_root) / profile
    out.mkdir(parents=True, exist_ok=True)
    md, csv = out / f"{spec.id}.md", out / f"{spec.id}.csv"
    tex, claims_csv = out / f"{spec.id}.tex", out / f"{spec.id}_claims.csv"
    md.write_text(markdown.render_markdown(spec, cells, profile, frame=frame,
                                           claims=render_claims(verdicts)))
    cells.assign(profile=profile, note=spec.note).to_csv(csv, index=False, float_format="%.4f")
    tex.write_text(latex.render_latex(spec, cells, profile))
    write_claims_csv(verdicts, claims_csv)
    return [md, csv, tex, claims_csv]


def shown_path(path) -> str:
    p = Path(path)
    return str(p.relative_to(PROJECT_ROOT)) if p.is_relative_to(PROJECT_ROOT) else str(p)
