"""Which cells the rehearsal stage runs: a small set of table cells that together use
every detector, balancer, classification loss, regression loss and dataset family of
conf/ (greedy set cover over the tables' cells, cheapest detectors first), plus the
config entries no table uses, each as one direct job on a table's cell."""
from __future__ import annotations

from pathlib import Path

import yaml

from repro.core.paths import CONF_DIR
from repro.table.spec import available_tables, load_table

GROUPS = ("detector", "balancer", "cls_loss", "reg_loss", "dataset")


def _defaults() -> dict:
    out = {}
    for item in yaml.safe_load((CONF_DIR / "config.yaml").read_text())["defaults"]:
        if isinstance(item, dict):
            (k, v), = item.items()
            if k in GROUPS:
                out[k] = v
    return out


def family(dataset: str) -> str:
    d = yaml.safe_load((CONF_DIR / "dataset" / f"{dataset}.yaml").read_text())
    return d.get("family") or family(next(b for b in d["defaults"] if b != "_self_"))


def entries(group: str) -> set[str]:
    return {p.stem for p in (CONF_DIR / group).glob("*.yaml")}


def features(choices: dict) -> set[tuple[str, str]]:
    f = {(g, str(choices[g])) for g in GROUPS if g != "dataset"}
    return f | {("family", family(str(choices["dataset"])))}


def wanted() -> set[tuple[str, str]]:
    out = {(g, e) for g in GROUPS if g != "dataset" for e in entries(g)}
    return out | {("family", "voc"), ("family", "coco")}


def table_cells() -> list[tuple[str, object, set]]:
    base = _defaults()
    out = []
    for t in available_tables():
        spec = load_table(t)
        for cell in spec.cells():
            choices = {**base, **{k: v for k, v in {**spec.fixed, **cell.column.set,
                                                     **cell.row.set}.items() if k in GROUPS}}
            out.append((t, cell, features(choices)))
    return out


def cover(cost=lambda det: 0) -> tuple[dict[str, list[str]], set]:
    """{table: [cell ids]} and the features no table cell has (entries no table uses)."""
    todo, cells = wanted(), table_cells()
    reachable = set().union(*(f for _, _, f in cells))
    todo &= reachable
    chosen: dict[str, list[str]] = {}
    while todo:
        t, cell, f = max(cells, key=lambda c: (len(c[2] & todo),
                                               -cost(dict(c[2])["detector"])))
        chosen.setdefault(t, []).append(cell.id)
        todo -= f
    return chosen, wanted() - reachable
