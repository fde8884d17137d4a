"""The table as Markdown (results/<profile>/<table>.md): the profile's note, the caption,
the legend, the cells (repro/report/layout.py), the claims' verdicts and the records
needing attention."""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from repro.core.paths import PROJECT_ROOT
from repro.report import layout
from repro.report.claim_kinds import HOLDS
from repro.report.reported import ReportedTable
from repro.report.scale import scale_line

SUFFIX = ".md"


def render(table: ReportedTable, cells: pd.DataFrame) -> str:
    spec, profile = table.spec, table.profile
    claims = render_claims(table.verdicts)
    heads = layout.heads(spec)
    lines = [f"# {spec.paper} Table {spec.number} — reproduced ({profile} profile)", "",
             f"> {layout.PROFILE_NOTES.get(profile, profile + ' profile')}.", ""]
    off_scale = scale_line(spec, table.frame)
    if off_scale:
        lines += [f"> **{off_scale}.**", ""]
    if spec.note:
        lines += [f"> **Note:** {spec.note}", ""]
    lines += [spec.caption, "", *sum(([x, ""] for x in [*layout.legend(spec), layout.noise_legend(spec, cells)]), [])]
    lines.append("| " + " | ".join([spec.row_header, *heads]) + " |")
    lines.append("|" + "---|" * (len(heads) + 1))
    for label, texts in layout.body_rows(spec, cells):
        if label is None:
            continue
        if not texts:
            lines.append("| " + " | ".join([f"**{label}**", *[""] * len(heads)]) + " |")
        else:
            lines.append("| " + " | ".join([label, *texts]) + " |")
    counts = cells.state.value_counts().to_dict()
    lines += ["", "Cells: " + ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))]
    left_out = cells[cells.excluded.notna()]
    if not left_out.empty:  # a cell's mean over its finished seeds: which ones are not in it
        lines += ["", "Seeds not in their cell's mean (they did not finish): " + "; ".join(
            f"{r.row_label} / {r.column_label}: {r.excluded}" for r in left_out.itertuples())]
    text = "\n".join(lines) + "\n"
    if claims:
        text += "\n" + claims
    text += render_problems(table.frame)
    return text


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|")


def render_claims(results: pd.DataFrame) -> str:
    if results.empty:
        return ""
    lines = ["## Claims", "",
             "Each claim is checked on the paper's numbers (as exact) and on ours; a "
             "difference counts only outside the measured seed-to-seed noise (95%, "
             "t(0.975, dof) standard errors); evidence within it is inconclusive "
             "(repro/report/noise.py, repro/report/claim_kinds.py).", "",
             "| claim | the paper says | check | paper | reproduced |", "|---|---|---|---|---|"]
    for r in results.itertuples():
        name = f"{r.claim} (conclusion {r.conclusion})" if r.conclusion else r.claim
        ours = r.reproduced if r.reproduced == HOLDS else f"**{r.reproduced}**"
        lines.append("| " + " | ".join(_cell(x) for x in (
            name, f"“{r.text}”", f"`{r.kind}`", f"{r.paper}: {r.paper_numbers}",
            f"{ours}: {r.numbers}")) + " |")
    return "\n".join(lines) + "\n"


def render_problems(frame: pd.DataFrame, limit: int = 200) -> str:
    """Records the report could not trust, by path, so someone can look at them."""
    bad = frame[frame.problem.notna()] if "problem" in frame else frame.iloc[:0]
    if bad.empty:
        return ""
    lines = ["", f"## Records needing attention: {len(bad)}", "",
             "Corrupt or partial run records (shown as `corrupt` above); rerun or repair them.",
             ""]
    for run_dir, problem in list(zip(bad.run_dir, bad.problem))[:limit]:
        lines.append(f"- `{shown_path(run_dir)}`: {problem}")
    if len(bad) > limit:
        lines.append(f"- … and {len(bad) - limit} more")
    return "\n".join(lines) + "\n"


def shown_path(path) -> str:
    p = Path(path)
    return str(p.relative_to(PROJECT_ROOT)) if p.is_relative_to(PROJECT_ROOT) else str(p)
