"""The checks a paper's claim can be written as, each on one source (paper or ours).

Every kind returns (verdict, the numbers behind it), with three verdicts on evidence:

- "holds": the claimed inequality holds outside the noise, i.e. by more than
  t(0.975, dof) standard errors of the compared quantity (repro/report/evidence.py,
  repro/report/noise.py);
- "does not hold": the opposite holds outside the noise (on the paper's exact numbers:
  the inequality is false, a tie included);
- "inconclusive: within noise": the evidence lies within the noise, or there is no
  noise estimate at all (one seed per cell): never "holds" or "does not hold" then.

For the "every" kinds one significant contradiction decides "does not hold"; every
comparison significant in the claimed direction decides "holds"; otherwise it is
inconclusive. Too few cells with numbers (fewer than `min_done`, default half, of the
cells a claim covers; for the "every" kinds, any cell) gives "not enough data". A
diverged cell (nan, overflow) is worse than any number.

A chosen cell is compared with its reference (repro/report/selectors.py): its group's
baseline row (ALWA Tables 1, 2, 4), its row's baseline column (Tables 3, 5), or the
rows a claim names as `baseline:`. Against its own reference the comparison is the
table's delta, paired by seed where the seeds allow it.
"""
from __future__ import annotations

import math

from repro.core.errors import ReproError
from repro.report.evidence import Estimate, Source, mean_of, quadrature
from repro.report.selectors import (Pair, baseline_rows, pair_name, reference_pairs,
                                    select_columns, select_rows)
from repro.table.spec import TableSpec

HOLDS, FAILS, NO_DATA = "holds", "does not hold", "not enough data"
INCONCLUSIVE = "inconclusive: within noise"
VERDICTS = (HOLDS, FAILS, INCONCLUSIVE, NO_DATA)


def verdict(above: bool | None) -> str:
    """An Estimate.above() answer as a verdict."""
    return HOLDS if above is True else FAILS if above is False else INCONCLUSIVE


def _enough(have: int, need: int, p: dict) -> bool:
    return have >= max(1, math.ceil(float(p.get("min_done", 0.5)) * need))


def _compare(src: Source, a: tuple, b: tuple):
    """(is cell a better than cell b?, the difference): 'win' (better outside the
    noise) | 'loss' (worse outside it; exact: not better) | 'tie' (within the noise) |
    'missing'."""
    x, y = src.get(*a), src.get(*b)
    if x is None or y is None:
        return "missing", None
    if isinstance(x, str):
        return "loss", x
    if isinstance(y, str):
        return "win", y
    d = src.diff(a, b)
    return {True: "win", False: "loss", None: "tie"}[d.above()], d


def _outcomes(src: Source, pairs: list[Pair]) -> list[tuple]:
    return [(*_compare(src, a, b), pair_name((a, b))) for a, b in pairs]


def _worst(found: list[tuple], lowest: bool = True) -> str:
    """The comparison furthest from a win (lowest Δ), or nearest to one (highest)."""
    key = (lambda f: -math.inf if isinstance(f[1], str) else f[1].value)
    pick = min(found, key=key) if lowest else max(found, key=key)
    return f"{pick[2]}: " + (pick[1] if isinstance(pick[1], str) else f"Δ {pick[1].text()}")


def _every(src: Source, pairs: list[Pair]):
    """Every (cell, reference) comparison a win; else the worst one, or what is missing."""
    found = _outcomes(src, pairs)
    losses = [f for f in found if f[0] == "loss"]
    ties = [f for f in found if f[0] == "tie"]
    have = sum(f[0] != "missing" for f in found)
    counts = f"{sum(f[0] == 'win' for f in found)} better, {len(ties)} within noise, " \
             f"{len(losses)} worse of {have}"
    if losses:
        return FAILS, f"{counts}; worst {_worst(losses)}"
    if have < len(found):
        return NO_DATA, f"{have}/{len(found)} comparisons have numbers ({counts})"
    if ties:
        return INCONCLUSIVE, f"{counts}; least {_worst(ties)}"
    diffs = [f for f in found if isinstance(f[1], Estimate)]
    tail = f"; smallest {_worst(diffs)}" if diffs else ""
    return HOLDS, f"all {len(found)} comparisons better outside the noise{tail}"


def _mean_gain(spec: TableSpec, src: Source, p: dict, where: str):
    """The mean difference of the chosen cells to their references, as an Estimate.

    Cells sharing a reference are averaged first and the reference subtracted once, so
    a reference's error is counted once (ALWA Table 2: ALWA_1 and ALWA_2 against one
    plain row per detector x backbone x loss); then the mean over the references.
    """
    rows = select_rows(spec, p.get("rows"), where)
    cols = select_columns(spec, p.get("columns"), where)
    pairs = reference_pairs(spec, rows, cols, p.get("baseline"), where)
    by_ref: dict = {}
    have = diverged = 0
    for a, b in pairs:
        v = src.get(*a)
        diverged += isinstance(v, str)
        by_ref.setdefault(b, []).append(v)
    per_ref = []
    for b, vals in by_ref.items():
        nums, ref = [v for v in vals if isinstance(v, Estimate)], src.get(*b)
        if isinstance(ref, Estimate) and nums:
            have += len(nums)
            per_ref.append(mean_of(nums) - ref)
    need = len(pairs)
    if diverged:
        return None, f"{diverged} of the {need} cells diverged (nan/overflow)"
    if not _enough(have, need, p):
        return None, f"{have}/{need} cells have a number and a reference"
    refs = {b for _, b in pairs}
    ref_rows, ref_cols = {r for r, _ in refs}, {c for _, c in refs}
    same_column = all(a[1] == b[1] for a, b in pairs)
    if same_column and len(ref_rows) == 1:
        to = spec_row_label(spec, next(iter(ref_rows)))
    elif same_column:
        to = f"the baseline row of each group ({len(ref_rows)} groups)"
    elif len(ref_cols) == 1:
        to = f"the {spec_column_label(spec, next(iter(ref_cols)))} column"
    else:
        to = f"each cell's reference ({len(refs)} reference cells)"
    return mean_of(per_ref), (f"mean Δ to {to} " "{gain}" f" over {have}/{need} cells "
                              f"({len(rows)} rows × {len(cols)} columns)")


def spec_row_label(spec: TableSpec, row_id: str) -> str:
    return next(r.label for r in spec.rows if r.id == row_id)


def spec_column_label(spec: TableSpec, column_id: str) -> str:
    return next(c.label for c in spec.columns if c.id == column_id)


def rows_beat_baseline(spec, src, p, where):
    """The chosen rows beat their references: on average (how: mean) or in every cell."""
    how = p.get("how", "mean")
    if how not in ("mean", "every"):
        raise ReproError(f"{where}: how is 'mean' or 'every', got {how!r}")
    if how == "every":
        return improves_every_baseline(spec, src, p, where)
    gain, numbers = _mean_gain(spec, src, p, where)
    if gain is None:
        return (FAILS if "diverged" in numbers else NO_DATA), numbers
    return verdict(gain.above()), numbers.replace("{gain}", gain.text())


def mean_gain_at_least(spec, src, p, where):
    """"+1% mAP on average" as a floor: the mean Δ to the references exceeds `at_least`."""
    gain, numbers = _mean_gain(spec, src, p, where)
    if gain is None:
        return (FAILS if "diverged" in numbers else NO_DATA), numbers
    bar = float(p["at_least"])
    return verdict(gain.above(bar)), numbers.replace(
        "{gain}", f"{gain.text()} (needs > {bar:+.2f} outside the noise)")


def mean_gain_about(spec, src, p, where):
    """"About +1 mAP on average": the mean Δ lies within `tolerance` of `about`, outside
    the noise (|gain - about| + t x SE < tolerance)."""
    gain, numbers = _mean_gain(spec, src, p, where)
    if gain is None:
        return (FAILS if "diverged" in numbers else NO_DATA), numbers
    about, tol = float(p["about"]), float(p["tolerance"])
    inside = Estimate(tol - abs(gain.value - about), gain.se, gain.dof).above()
    return verdict(inside), numbers.replace(
        "{gain}", f"{gain.text()} (needs {about:+.2f} ± {tol:.2f}, outside the noise)")


def improves_every_baseline(spec, src, p, where):
    """Each chosen cell beats its reference: its group's baseline row, or its row's
    baseline column (ALWA Tables 2, 3, 5), or the `baseline:` rows, in each column."""
    rows = select_rows(spec, p.get("rows"), where)
    cols = select_columns(spec, p.get("columns"), where)
    return _every(src, reference_pairs(spec, rows, cols, p.get("baseline"), where))


def best_in_every_column(spec, src, p, where):
    """In each column, the best of the chosen rows beats every other row (`among`)."""
    rows = select_rows(spec, p.get("rows"), where)
    others = [r for r in (select_rows(spec, p["among"], where) if "among" in p else spec.rows)
              if r not in rows]
    pairs = []
    for c in select_columns(spec, p.get("columns"), where):
        nums = [r for r in rows if isinstance(src.get(r.id, c.id), Estimate)]
        best = max(nums, key=lambda r: src.get(r.id, c.id).value) if nums else rows[0]
        pairs += [((best.id, c.id), (o.id, c.id)) for o in others]
    return _every(src, pairs)


def helps_only(spec, src, p, where):
    """The chosen rows beat their references in `columns` and not in `not_columns` (ALWA
    Table 4: "DTP only works for" the two-stage detectors): a significant loss where it
    should help, or a significant win where it should not, contradicts the claim; it
    holds when it wins everywhere it should and nowhere else."""
    rows = select_rows(spec, p["rows"], where)
    sets = [select_columns(spec, p.get(k), where) for k in ("columns", "not_columns")]
    helps, not_in = (_outcomes(src, reference_pairs(spec, rows, s, p.get("baseline"), where))
                     for s in sets)
    wrong = [f for f in helps if f[0] == "loss"] + [f for f in not_in if f[0] == "win"]
    names = [", ".join(sorted({c.group or c.id for c in s})) for s in sets]
    have_h = [f for f in helps if f[0] != "missing"]
    have_n = [f for f in not_in if f[0] != "missing"]
    numbers = (f"better outside the noise in {sum(f[0] == 'win' for f in helps)}/{len(have_h)} "
               f"{names[0]} comparisons" + (f" (least {_worst(have_h)})" if have_h else "")
               + f", in {sum(f[0] == 'win' for f in not_in)}/{len(have_n)} {names[1]}"
               + (f" (most {_worst(have_n, lowest=False)})" if have_n else ""))
    if wrong:
        return FAILS, numbers
    if len(have_h) < len(helps) or len(have_n) < len(not_in):
        return NO_DATA, numbers + f"; {len(helps) + len(not_in) - len(have_h) - len(have_n)} " \
                                  f"comparisons without numbers"
    if any(f[0] == "tie" for f in helps):
        return INCONCLUSIVE, numbers
    return HOLDS, numbers


def rows_beat_rows(spec, src, p, where):
    """The mean of the chosen rows beats the mean of the `than` rows (ALWA Table 6:
    lambda0 <= 1 against lambda0 > 1), per column; `how: mean` (default) over the
    columns' differences, `how: every` in each column."""
    how = p.get("how", "mean")
    if how not in ("mean", "every"):
        raise ReproError(f"{where}: how is 'mean' or 'every', got {how!r}")
    a_rows, b_rows = (select_rows(spec, p[k], where) for k in ("rows", "than"))
    cols = select_columns(spec, p.get("columns"), where)
    per_col, have = [], 0
    for c in cols:
        a, b = ([src.get(r.id, c.id) for r in rs] for rs in (a_rows, b_rows))
        if any(isinstance(v, str) for v in a):
            return FAILS, f"a chosen row diverged in {c.id}"
        a, b = ([v for v in vs if isinstance(v, Estimate)] for vs in (a, b))
        if a and b:
            have += len(a) + len(b)
            per_col.append((c.id, mean_of(a) - mean_of(b)))
    need = (len(a_rows) + len(b_rows)) * len(cols)
    if not per_col or not _enough(have, need, p):
        return NO_DATA, f"{have}/{need} cells have a number"
    cells = f"over {have}/{need} cells ({len(a_rows)} vs {len(b_rows)} rows)"
    if how == "every":
        least = min(per_col, key=lambda x: x[1].value)
        found = [d.above() for _, d in per_col]
        text = f"mean difference per column, smallest in {least[0]}: {least[1].text()}, {cells}"
        if False in found:
            return FAILS, text
        if len(per_col) < len(cols):
            return NO_DATA, text
        return (HOLDS if all(found) else INCONCLUSIVE), text
    diff = mean_of([d for _, d in per_col])
    return verdict(diff.above()), f"mean difference {diff.text()} {cells}"


def insensitive_to(spec, src, p, where):
    """The chosen rows (one setting each) stay within `tolerance` points of each other."""
    rows = select_rows(spec, p.get("rows"), where)
    tol, have, verdicts, widest = float(p["tolerance"]), 0, [], None
    cols = select_columns(spec, p.get("columns"), where)
    for c in cols:
        vals = [src.get(r.id, c.id) for r in rows]
        if any(isinstance(v, str) for v in vals):
            return FAILS, f"a setting diverged in {c.id}"
        nums = [v for v in vals if isinstance(v, Estimate)]
        if len(nums) < 2:
            continue
        have += len(nums)
        spread = max(nums, key=lambda e: e.value) - min(nums, key=lambda e: e.value)
        verdicts.append(Estimate(tol - spread.value, spread.se, spread.dof).above())
        if widest is None or spread.value > widest[0].value:
            widest = (spread, c.id)
    need = len(rows) * len(cols)
    if not verdicts or not _enough(have, need, p):
        return NO_DATA, f"{have}/{need} cells have a number"
    numbers = (f"widest spread {widest[0].text(signed=False)} points in {widest[1]} "
               f"(tolerance {tol:.2f}) over {have}/{need} cells")
    if False in verdicts:
        return FAILS, numbers
    return (HOLDS if all(verdicts) else INCONCLUSIVE), numbers


STATISTICS = ("std", "max_gain", "range")
LABELS = {"std": "std of Δ", "max_gain": "best Δ", "range": "range of Δ"}


def _std(nums: list[Estimate]) -> Estimate:
    """Sample std over rows; its error from the cells' own errors (delta method)."""
    k, mean = len(nums), sum(e.value for e in nums) / len(nums)
    s = math.sqrt(sum((e.value - mean) ** 2 for e in nums) / (k - 1))
    errs = quadrature(abs(e.value - mean) * (e.se or 0.0) for e in nums)
    unknown = any(e.se is None for e in nums)
    return Estimate(s, None if unknown else (errs / ((k - 1) * s) if s else 0.0),
                    min(e.dof for e in nums))


def _sensitivity(src, rows, base, cols, statistic):
    """Per column, how much the rows move the metric; the mean over the columns."""
    per_col, have = [], 0
    for c in cols:
        nums = [v for v in (src.get(r.id, c.id) for r in rows) if isinstance(v, Estimate)]
        b = src.get(base.id, c.id)
        if len(nums) < 3 or not isinstance(b, Estimate):
            continue
        have += len(nums)
        top, low = max(nums, key=lambda e: e.value), min(nums, key=lambda e: e.value)
        per_col.append({"std": lambda: _std(nums), "max_gain": lambda: top - b,
                        "range": lambda: top - low}[statistic]())
    return (mean_of(per_col) if per_col else None), have


def less_sensitive(spec, src, p, where):
    """The loss weights move the metric less in `columns` than in `than` (ALWA conc. 2)."""
    rows = select_rows(spec, p.get("rows"), where)
    base = baseline_rows(spec, p.get("baseline"), where)[0]
    statistic = p.get("statistic", "std")
    if statistic not in STATISTICS:
        raise ReproError(f"{where}: statistic must be one of {STATISTICS}, got {statistic!r}")
    sets = [select_columns(spec, p.get(k), where) for k in ("columns", "than")]
    (a, have_a), (b, have_b) = (_sensitivity(src, rows, base, s, statistic) for s in sets)
    needs = [len(rows) * len(s) for s in sets]
    if a is None or b is None or not (_enough(have_a, needs[0], p) and _enough(have_b, needs[1], p)):
        return NO_DATA, f"{have_a}/{needs[0]} and {have_b}/{needs[1]} cells have numbers"
    names = [", ".join(sorted({c.group or c.id for c in s})) for s in sets]
    diff, signed = b - a, statistic == "max_gain"
    return verdict(diff.above()), (
        f"{LABELS[statistic]} over {len(rows)} rows: {names[0]} {a.text(signed)} vs "
        f"{names[1]} {b.text(signed)} (difference {diff.text()})")


# kind -> (check, required parameters, optional parameters)
KINDS = {
    "rows_beat_baseline": (rows_beat_baseline, (), ("rows", "columns", "baseline", "how")),
    "mean_gain_at_least": (mean_gain_at_least, ("at_least",), ("rows", "columns", "baseline")),
    "mean_gain_about": (mean_gain_about, ("about", "tolerance"), ("rows", "columns", "baseline")),
    "improves_every_baseline": (improves_every_baseline, (), ("rows", "columns", "baseline")),
    "best_in_every_column": (best_in_every_column, ("rows",), ("columns", "among")),
    "insensitive_to": (insensitive_to, ("rows", "tolerance"), ("columns",)),
    "less_sensitive": (less_sensitive, ("columns", "than"),
                       ("rows", "baseline", "statistic")),
    "helps_only": (helps_only, ("rows", "columns", "not_columns"), ("baseline",)),
    "rows_beat_rows": (rows_beat_rows, ("rows", "than"), ("columns", "how")),
}
