"""Which rows and columns of a table a claim is about, written as data in the table file.

Rows are picked by their own overrides, so a claim names the weights, not row numbers:

    rows: {gt: [balancer.reg_weight, balancer.cls_weight]}   # ALWA Table 1, conclusion 3
    rows: {set: {balancer: [alwa1, alwa2]}}                    # ALWA_1 and ALWA_2
    rows: {between: {balancer.interval: [100, 500]}}           # Table 6: C in [100, 500]
    rows: {ids: [w0.10-0.50], baseline: false}
    rows: {group: lambda0}                                     # Table 6: a row group

All conditions of a mapping must hold. Columns: `all` (the default; without a table's
baseline column, "Initial" in ALWA Tables 3 and 5), a list of ids, or `{group: VOC}` /
`{group: [VOC, COCO], ids: [...], baseline: false}`.

A compared cell's reference is the table's (repro/table/spec.py, `TableSpec.reference`):
the same row's baseline column, else its group's baseline row in the same column. A
claim's `baseline:` row selector replaces it with the chosen row(s), column by column.
"""
from __future__ import annotations

from repro.core.errors import ReproError
from repro.table.spec import Column, Row, TableSpec

ROW_KEYS = ("ids", "baseline", "group", "set", "gt", "between")
COLUMN_KEYS = ("ids", "group", "baseline")


def _as_list(v) -> list:
    return list(v) if isinstance(v, (list, tuple)) else [v]


def _number(row: Row, key: str, where: str):
    v = row.set.get(key)
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise ReproError(f"{where}: row {row.id} has no numeric override {key!r}")
    return v


def _row_matches(row: Row, sel: dict, where: str) -> bool:
    if "ids" in sel and row.id not in _as_list(sel["ids"]):
        return False
    if "baseline" in sel and row.baseline != bool(sel["baseline"]):
        return False
    if "group" in sel and row.group not in [str(g) for g in _as_list(sel["group"])]:
        return False
    for key, wanted in (sel.get("set") or {}).items():
        if key not in row.set or row.set[key] not in _as_list(wanted):
            return False
    if "gt" in sel:
        a, b = sel["gt"]
        if not _number(row, a, where) > _number(row, b, where):
            return False
    for key, (lo, hi) in (sel.get("between") or {}).items():
        if key not in row.set or not lo <= _number(row, key, where) <= hi:
            return False
    return True


def select_rows(spec: TableSpec, sel, where: str) -> list[Row]:
    """`sel` None: every row but the baseline."""
    if sel is None:
        sel = {"baseline": False}
    if not isinstance(sel, dict) or set(sel) - set(ROW_KEYS):
        raise ReproError(f"{where}: a row selector is a mapping of {', '.join(ROW_KEYS)}; "
                         f"got {sel!r}")
    if "gt" in sel and len(_as_list(sel["gt"])) != 2:
        raise ReproError(f"{where}: gt takes two override keys, [a, b] for a > b")
    rows = [r for r in spec.rows if _row_matches(r, sel, where)]
    if not rows:
        raise ReproError(f"{where}: rows {sel!r} match no row of table {spec.name}")
    return rows


def select_columns(spec: TableSpec, sel, where: str) -> list[Column]:
    if sel is None or sel == "all":
        return [c for c in spec.columns if not c.baseline]
    if isinstance(sel, (list, tuple)):
        sel = {"ids": list(sel)}
    if not isinstance(sel, dict) or set(sel) - set(COLUMN_KEYS):
        raise ReproError(f"{where}: columns are 'all', a list of ids, or a mapping of "
                         f"{' / '.join(COLUMN_KEYS)}; got {sel!r}")
    unknown = set(_as_list(sel.get("ids", []))) - {c.id for c in spec.columns}
    if unknown:
        raise ReproError(f"{where}: unknown columns {sorted(unknown)}; table {spec.name} "
                         f"has {[c.id for c in spec.columns]}")
    cols = [c for c in spec.columns
            if ("ids" not in sel or c.id in _as_list(sel["ids"]))
            and ("group" not in sel or c.group in _as_list(sel["group"]))
            and ("baseline" not in sel or c.baseline == bool(sel["baseline"]))]
    if not cols:
        raise ReproError(f"{where}: columns {sel!r} match no column of table {spec.name}")
    return cols


def baseline_rows(spec: TableSpec, sel, where: str) -> list[Row]:
    """The reference row(s): given, or the table's own baseline row."""
    if sel is not None:
        return select_rows(spec, sel, where)
    if spec.baseline_row is None:
        raise ReproError(f"{where}: table {spec.name} has no baseline row; name one with "
                         f"baseline: {{ids: [...]}}")
    return [spec.baseline_row]


Pair = tuple[tuple[str, str], tuple[str, str]]  # ((row, column), (reference row, column))


def reference_pairs(spec: TableSpec, rows: list[Row], cols: list[Column], sel,
                    where: str) -> list[Pair]:
    """Each chosen cell with its reference cell(s): the table's own (`TableSpec.reference`),
    or, with a `baseline:` selector, the chosen rows in the same column. Cells that are
    their own reference (a baseline row, the baseline column) are left out."""
    refs = select_rows(spec, sel, where) if sel is not None else None
    if refs is None and not any(spec.reference(r, c) for r in rows for c in cols):
        raise ReproError(f"{where}: no chosen cell of table {spec.name} has a reference (no "
                         f"baseline row or column); name one with baseline: {{ids: [...]}}")
    pairs = []
    for c in cols:
        for r in rows:
            if refs is not None:
                pairs += [((r.id, c.id), (b.id, c.id)) for b in refs if b.id != r.id]
            elif (ref := spec.reference(r, c)) is not None:
                pairs.append(((r.id, c.id), (ref.row.id, ref.column.id)))
    return pairs


def pair_name(pair: Pair) -> str:
    """'r1 vs base in a2' (a reference row) or 'alwa1 vs initial in dynamic' (a column)."""
    (r, c), (rr, rc) = pair
    return f"{r} vs {rr} in {c}" if c == rc else f"{c} vs {rc} in {r}"
