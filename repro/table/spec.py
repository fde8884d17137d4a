"""A paper table as data: rows x columns of config overrides, with the paper's values.

One YAML file per table (``conf/table/<name>.yaml``) is the single source: the sweep
expands it into cells, and the report lays the reproduced numbers out in the same rows
and columns beside the paper's. Pure Python: no torch, no mmdet, no Hydra.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Mapping

import yaml

from repro.core.errors import ReproError
from repro.core.outcomes import NAMED_OUTCOMES
from repro.core.paths import CONF_DIR

# Outcomes a paper reports instead of a number (ALWA Table 4: "nan", "overflow").


class TableError(ReproError):
    """A table file that cannot be used as written."""


def _override(key: str, value: Any) -> str:
    if isinstance(value, bool):
        value = str(value).lower()
    return f"{key}={value}"


def _namespace(overrides: Mapping[str, Any]) -> SimpleNamespace:
    """{'balancer.cls_weight': 0.1} -> ns.balancer.cls_weight, for str.format templates."""
    root: dict = {}
    # Deeper keys first: `{cls_loss: hcrac, cls_loss.loss.bins: 25}` keeps both the
    # group's choice and its parameters addressable (a group name that also has
    # sub-keys is reachable as {cls_loss._choice}).
    for key, value in sorted(overrides.items(), key=lambda kv: -kv[0].count(".")):
        node = root
        *parents, leaf = key.split(".")
        for p in parents:
            node = node.setdefault(p, {})
        if isinstance(node.get(leaf), dict):
            node[leaf]["_choice"] = value
        else:
            node[leaf] = value

    def build(d):
        return SimpleNamespace(**{k: build(v) if isinstance(v, dict) else v for k, v in d.items()})
    return build(root)


@dataclass(frozen=True)
class Column:
    id: str
    label: str
    group: str
    set: dict = field(default_factory=dict)
    # The reference column of every row (ALWA Tables 3 and 5: "Initial" beside
    # "+ALWA_1", "+ALWA_2"): the other columns of a row are compared against it.
    baseline: bool = False


@dataclass(frozen=True)
class Row:
    id: str
    label: str
    set: dict
    paper: tuple  # one value per column: a float, or a named outcome
    baseline: bool = False  # the reference row of its group
    # Rows of one group share a baseline row (ALWA Table 2: each detector x backbone is a
    # group, its plain row the baseline of its +ALWA rows). One group ("") by default.
    group: str = ""


@dataclass(frozen=True)
class Cell:
    table: "TableSpec"
    row: Row
    column: Column

    @property
    def id(self) -> str:
        return f"{self.row.id}__{self.column.id}"

    @property
    def overrides(self) -> list[str]:
        """Hydra overrides that turn the base config into this cell."""
        merged = {**self.table.fixed, **self.column.set, **self.row.set}
        return [_override(k, v) for k, v in merged.items()]

    @property
    def paper_value(self):
        """The paper's number for this cell as printed (absolute or a delta)."""
        return self.row.paper[self.table.columns.index(self.column)]

    @property
    def reference(self) -> "Cell | None":
        """The cell this one is compared against: same row in the baseline column, else
        the baseline row of its group in the same column; None for a reference itself."""
        return self.table.reference(self.row, self.column)

    def overrides_for(self, profile: str) -> list[str]:
        """`overrides` plus what the table sets for one profile only (fixed_by_profile)."""
        extra = self.table.fixed_by_profile.get(profile, {})
        return [*(_override(k, v) for k, v in extra.items()), *self.overrides]


@dataclass(frozen=True)
class TableSpec:
    name: str  # the file stem, what `table=` selects
    id: str  # run-folder name, e.g. table1
    paper: str
    number: Any
    caption: str
    row_header: str
    fixed: dict
    paper_values: str  # "absolute" or "deltas" (against the baseline row)
    columns: tuple[Column, ...]
    rows: tuple[Row, ...]
    # Shown with every rendering of the table (e.g. "HCRAL is a reconstruction").
    note: str = ""
    # Overrides for one profile only, e.g. Table 6's 2 GPUs x 4 images under `paper`.
    fixed_by_profile: dict = field(default_factory=dict)
    # Figures beyond the defaults, as data for repro/report (kind + its parameters).
    figures: tuple = ()
    # Rows whose cells also run with `noise_seeds` seeds, beyond the reference cells
    # (a table without references, ALWA Table 6, names the rows it measures noise on).
    noise_rows: tuple = ()

    @property
    def baseline_row(self) -> Row | None:
        """The baseline row of the first group (the table's only one, for Table 1)."""
        return next((r for r in self.rows if r.baseline), None)

    @property
    def baseline_column(self) -> Column | None:
        return next((c for c in self.columns if c.baseline), None)

    @property
    def groups(self) -> list[str]:
        return list(dict.fromkeys(r.group for r in self.rows))

    def baseline_of(self, row: Row) -> Row | None:
        """The baseline row of `row`'s group (None where the group has none)."""
        return next((r for r in self.rows if r.baseline and r.group == row.group), None)

    def reference(self, row: Row, column: Column) -> Cell | None:
        if column.baseline or (self.baseline_column is None and row.baseline):
            return None
        if self.baseline_column is not None:
            return Cell(self, row, self.baseline_column)
        base = self.baseline_of(row)
        return Cell(self, base, column) if base is not None else None

    def cells(self) -> list[Cell]:
        return [Cell(self, r, c) for r in self.rows for c in self.columns]

    def noise_cells(self) -> list[Cell]:
        """The cells the table measures its seed-to-seed noise on (repro/report/noise.py):
        every cell another one is compared against, and the cells of `noise_rows`."""
        refs = {c.reference.id for c in self.cells() if c.reference is not None}
        return [c for c in self.cells() if c.id in refs or c.row.id in self.noise_rows]

    def cell(self, cell_id: str) -> Cell:
        for c in self.cells():
            if c.id == cell_id:
                return c
        raise TableError(f"table {self.name} has no cell {cell_id!r}")

    @classmethod
    def from_mapping(cls, name: str, d: Mapping[str, Any]) -> "TableSpec":
        def need(key):
            if key not in d:
                raise TableError(f"table {name}: missing key {key!r}")
            return d[key]

        columns = tuple(Column(id=c["id"], label=c.get("label", c["id"]), group=c.get("group", ""),
                               set=dict(c.get("set", {})), baseline=bool(c.get("baseline", False)))
                        for c in need("columns"))
        rows = []
        for i, r in enumerate(need("rows")):
            overrides = dict(r.get("set", {}))
            ns = _namespace(overrides)
            try:
                row_id = r.get("id") or d["row_id"].format_map(vars(ns))
                label = r.get("label") or (d["row_label"].format_map(vars(ns))
                                           if "row_label" in d else row_id)
            except (KeyError, AttributeError, ValueError) as e:
                raise TableError(f"table {name}, row {i + 1}: cannot name the row ({e})") from None
            paper = tuple(_paper_value(v, name, row_id) for v in r.get("paper", []))
            if len(paper) != len(columns):
                raise TableError(f"table {name}, row {row_id}: {len(paper)} paper values "
                                 f"for {len(columns)} columns")
            rows.append(Row(row_id, label, overrides, paper, bool(r.get("baseline", False)),
                            str(r.get("group", ""))))
        by_profile = d.get("fixed_by_profile") or {}
        if not isinstance(by_profile, Mapping) or not all(
                isinstance(v, Mapping) for v in by_profile.values()):
            raise TableError(f"table {name}: fixed_by_profile maps a profile name to "
                             f"overrides, e.g. {{paper: {{profile.gpus: 2}}}}")
        spec = cls(name=name, id=str(need("id")), paper=str(d.get("paper", "")),
                   number=d.get("number", name), caption=str(d.get("caption", "")),
                   row_header=str(d.get("row_header", "")), fixed=dict(d.get("fixed", {})),
                   paper_values=str(d.get("paper_values", "absolute")),
                   columns=columns, rows=tuple(rows), note=str(d.get("note", "")).strip(),
                   fixed_by_profile={str(k): dict(v) for k, v in by_profile.items()},
                   figures=tuple(d.get("figures") or ()),
                   noise_rows=tuple(str(r) for r in d.get("noise_rows") or ()))
        spec._check()
        return spec

    def _check(self) -> None:
        for kind, ids in (("row", [r.id for r in self.rows]), ("column", [c.id for c in self.columns])):
            dup = {i for i in ids if ids.count(i) > 1}
            if dup:
                raise TableError(f"table {self.name}: duplicate {kind} ids {sorted(dup)}")
        if self.paper_values not in ("absolute", "deltas"):
            raise TableError(f"table {self.name}: paper_values must be 'absolute' or 'deltas'")
        for group in self.groups:
            n = sum(r.baseline for r in self.rows if r.group == group)
            if n > 1 or (self.paper_values == "deltas" and n != 1):
                where = f"group {group!r}" if group else "the table"
                raise TableError(f"table {self.name}: {where} has {n} rows with baseline: "
                                 f"true; give it exactly one"
                                 + (" (paper_values: deltas)" if n == 0 else ""))
        unknown = set(self.noise_rows) - {r.id for r in self.rows}
        if unknown:
            raise TableError(f"table {self.name}: noise_rows {sorted(unknown)} are not row "
                             f"ids; rows: {', '.join(r.id for r in self.rows)}")
        if sum(c.baseline for c in self.columns) > 1:
            raise TableError(f"table {self.name}: more than one column with baseline: true")
        if self.baseline_column is not None and self.paper_values == "deltas":
            raise TableError(f"table {self.name}: paper_values: deltas is against a baseline "
                             f"row, not a baseline column")


def _paper_value(v, table: str, row: str):
    if isinstance(v, str) and v in NAMED_OUTCOMES:
        return v
    if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v):
        return float(v)
    raise TableError(f"table {table}, row {row}: paper value {v!r} is neither a number "
                     f"nor one of {NAMED_OUTCOMES}")


def available_tables(conf_dir: Path = CONF_DIR) -> list[str]:
    return sorted(p.stem for p in (conf_dir / "table").glob("*.yaml"))


def load_table(name: str, conf_dir: Path = CONF_DIR) -> TableSpec:
    path = conf_dir / "table" / f"{name}.yaml"
    if not path.is_file():
        raise TableError(f"unknown table {name!r}. Tables: {', '.join(available_tables(conf_dir))}. "
                         f"Run one with: python -m repro table=<name> -m")
    with open(path) as f:
        return TableSpec.from_mapping(name, yaml.safe_load(f))
