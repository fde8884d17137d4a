"""The text of one cell, as the Markdown, LaTeX and console tables show it, and the mark
of a reproduced delta outside the noise (also on the figures' bars)."""
from __future__ import annotations

from repro.table.spec import TableSpec


def fmt(x: float, signed: bool = False) -> str:
    return f"{x:+.2f}" if signed else f"{x:.2f}"


def missing(x) -> bool:
    return x is None or (isinstance(x, float) and x != x)


def cell_text(e, spec: TableSpec) -> str:
    """The text of one cell (a cell_table row: Series or dict), in the markdown and LaTeX."""
    return _delta_text(e) if spec.paper_values == "deltas" else _absolute_text(e)


def _delta_text(e) -> str:
    """ALWA Table 1's cells: ours against our baseline row, beside the paper's delta."""
    paper = e["paper"]
    paper = paper if isinstance(paper, str) else fmt(paper, signed=e["paper_is_delta"])
    if missing(e["reproduced"]):
        return f"{e['state']} (paper {paper})"
    if e["paper_is_delta"]:
        if missing(e["reproduced_delta"]):
            return f"{fmt(e['reproduced'])} abs, baseline missing (paper {paper})"
        value = fmt(e["reproduced_delta"], signed=True) + significance_mark(e)
    else:
        value = fmt(e["reproduced"])
    spread = f" ± {e['std']:.2f} {count(e)}" if e["n"] > 1 else (
        f" {count(e)}" if excluded(e) else "")
    return f"{value}{spread} (paper {paper})"


def excluded(e) -> str:
    """The seeds that did not finish beside a cell's finished ones ('seed 1 nan'), or ''."""
    x = e.get("excluded")
    return x if isinstance(x, str) and x else ""


def count(e) -> str:
    """'(n=3)', or '(n=2; excluded: seed 1 nan)': the mean is over the finished seeds."""
    return f"(n={e['n']}; excluded: {excluded(e)})" if excluded(e) else f"(n={e['n']})"


MARK = "*"


def significance_mark(e) -> str:
    """'*' on a reproduced delta outside the noise (repro/report/noise.py), '' otherwise."""
    v = e.get("significant")
    return MARK if v is not None and v == v and bool(v) else ""


def _absolute_text(e) -> str:
    """'74.83 (+1.46) ± 0.30 (n=3); paper 74.83 (+1.46); diff +0.00'."""
    paper = e["paper"]
    if isinstance(paper, str):
        shown = paper
    else:
        shown = fmt(paper) + ("" if missing(e["paper_delta"])
                               else f" ({fmt(e['paper_delta'], signed=True)})")
    if missing(e["reproduced"]):
        return f"{e['state']}; paper {shown}"
    ours = fmt(e["reproduced"])
    if not missing(e["reproduced_delta"]):
        ours += f" ({fmt(e['reproduced_delta'], signed=True)}{significance_mark(e)})"
    ours += f" ± {e['std']:.2f} {count(e)}" if e["n"] > 1 else f" {count(e)}"
    diff = "" if missing(e["difference"]) else f"; diff {fmt(e['difference'], signed=True)}"
    return f"{ours}; paper {shown}{diff}"
