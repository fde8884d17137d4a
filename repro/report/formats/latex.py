"""The regenerated table as a LaTeX tabular a paper can `\\input`: the markdown's layout.

Same rows, columns, row groups and cell text as results/<profile>/<table>.md
(repro/report/layout.py), with the table's note as a comment and as full-width rows under
the body (where a caption's note would go). Only plain LaTeX (\\hline, \\multicolumn),
so the including document needs no package; wide tables can be wrapped in \\resizebox
there. pdflatex is not part of the environment: tests/test_report_render.py checks the
body's structure (balanced braces, cells per row, escaped characters) and compiles it
only where pdflatex exists.
"""
from __future__ import annotations

import re
import textwrap

import pandas as pd

from repro.report import layout
from repro.report.reported import ReportedTable
from repro.table.spec import TableSpec

SUFFIX = ".tex"

_SPECIALS = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#",
             "_": r"\_", "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}",
             "^": r"\textasciicircum{}", "<": r"\textless{}", ">": r"\textgreater{}",
             "±": r"$\pm$", "—": "---", "Δ": r"$\Delta$", "−": "$-$", "λ": r"$\lambda$",
             "α": r"$\alpha$", "×": r"$\times$", "≤": r"$\leq$", "≥": r"$\geq$",
             "σ": r"$\sigma$", "|": r"\textbar{}"}
# A signed number in math mode, so that -0.49 gets a minus sign, not a hyphen.
_SIGNED = re.compile(r"(?<![\w.])([+-]\d+(?:\.\d+)?)")


def escape(text: str) -> str:
    return _SIGNED.sub(r"$\1$", "".join(_SPECIALS.get(ch, ch) for ch in str(text)))


def _group_row(spec: TableSpec) -> str | None:
    """One \\multicolumn per run of columns in the same group (VOC, COCO)."""
    if not any(c.group for c in spec.columns):
        return None
    runs: list[list] = []
    for c in spec.columns:
        if runs and runs[-1][0] == c.group:
            runs[-1][1] += 1
        else:
            runs.append([c.group, 1])
    parts = [rf"\multicolumn{{{n}}}{{c}}{{{escape(g)}}}" for g, n in runs]
    return " & ".join(["", *parts]) + r" \\"


def _note_rows(text: str, n_columns: int, width: int = 90, prefix: str = "Note: ") -> list[str]:
    """The note as full-width rows under the table: plain LR-mode cells, wrapped by hand,
    so the body still needs no package and still fits in a \\resizebox."""
    return [rf"\multicolumn{{{n_columns}}}{{l}}{{\footnotesize {escape(line)}}} \\"
            for line in textwrap.wrap(f"{prefix}{text}", width)]


def render(table: ReportedTable, cells: pd.DataFrame) -> str:
    spec, profile = table.spec, table.profile
    n = len(spec.columns) + 1
    legend = " ".join([*layout.legend(spec), layout.noise_legend(spec, cells)])
    lines = [f"% {spec.paper} Table {spec.number}, reproduced ({profile} profile). {legend}",
             r"% Written by python -m repro.report; \input{} it inside a table environment."]
    if spec.note:
        lines += [f"% Note: {line}" for line in textwrap.wrap(spec.note, 86)]
    lines += [r"\begin{tabular}{l" + "c" * len(spec.columns) + "}", r"\hline"]
    group_row = _group_row(spec)
    if group_row:
        lines.append(group_row)
    lines.append(" & ".join(escape(x) for x in [spec.row_header, *(c.label for c in spec.columns)])
                 + r" \\")
    lines.append(r"\hline")
    for label, texts in layout.body_rows(spec, cells):
        if label is None:  # a row group starts (ALWA Table 2: detector x backbone)
            if lines[-1] != r"\hline":
                lines.append(r"\hline")
        elif not texts:  # its name, where no baseline row heads it (Table 6: lambda0, C)
            lines.append(rf"\multicolumn{{{n}}}{{l}}{{\textit{{{escape(label)}}}}} \\")
        else:
            lines.append(" & ".join([escape(label), *(escape(t) for t in texts)]) + r" \\")
    lines.append(r"\hline")
    # What the '*' marks and the measured noise (repro/report/noise.py), under the body.
    lines += [*_note_rows(layout.noise_legend(spec, cells), n, prefix=""), r"\hline"]
    if spec.note:
        lines += [*_note_rows(spec.note, n), r"\hline"]
    lines.append(r"\end{tabular}")
    return "\n".join(lines) + "\n"
