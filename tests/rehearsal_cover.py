"""Which cells the rehearsal stage runs: table cells that together use every detector,
balancer, classification loss, regression loss and dataset family of conf/, chosen for
the least CPU time (a weighted set cover over the tables' cells: greedy on new entries
per second, then the cells the others make redundant dropped, dearest first), plus the
config entries no table uses, each as one direct job on a table's cell."""
from __future__ import annotations

import fnmatch
from functools import lru_cache

import yaml

from repro.core.paths import CONF_DIR
from repro.table.spec import available_tables, load_table

GROUPS = ("detector", "balancer", "cls_loss", "reg_loss", "dataset")
# What the cover weighs (CPU seconds, 1 torch thread): a launch (torch and mmdet
# imported by the launch and its 2 workers, the sweep composed, the report: 8-17 s
# measured; 30 with the core its last cell leaves idle on 2 cores), and one
# cell at 1 iteration of 1 image (built, the checkpoint loaded, trained, tested on 1
# image) per detector, first match wins, times its iterations and images; measured in
# the rehearsal stage (docs/benchmarks.md "Rehearsal", a shared machine). Only the
# choice between cells depends on them: every detector is rehearsed anyway.
LAUNCH_S = 30.0
ITER_S = {"*_dcn_*": 62.0, "*r2_101*": 71.0, "double_head*": 29.0, "*mask_rcnn_r101*": 24.0,
          "*r101*": 20.0, "mask_*": 19.0, "*": 16.0}


@lru_cache(maxsize=None)
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


def iterations(choices: dict) -> int:
    """What a cell needs to run its balancer's update: 1 iteration with the default
    balancer (static weights: nothing to update); with any other, the rehearse group's
    own `iters` (3), its windows shortened (conf/rehearse/true.yaml) so that every update
    has run by the 2nd iteration (ALWA's window of C=2 closes, DWA's second period of 1
    ends; Guided Loss, DTP and uncertainty weighting update at every one) and the 3rd
    trains with the new weights. (At 2 iterations the 1x shape's first LR step would
    fall on the 2nd.)"""
    if str(choices["balancer"]) == str(_defaults()["balancer"]):
        return 1
    return int(yaml.safe_load((CONF_DIR / "rehearse" / "true.yaml").read_text())
               ["profile"]["iters"])


def _table_cost(cells: tuple, images: int) -> float:
    iters = max(iterations(c[2]) for c in cells)
    return LAUNCH_S + sum(iter_s(str(c[2]["detector"])) * iters * images for c in cells)


def table_cells() -> list[tuple[str, str, dict]]:
    """(table, cell id, the cell's group choices) for every cell of every table."""
    base = _defaults()
    out = []
    for t in available_tables():
        spec = load_table(t)
        for cell in spec.cells():
            choices = {**base, **{k: v for k, v in {**spec.fixed, **cell.column.set,
                                                     **cell.row.set}.items() if k in GROUPS}}
            out.append((t, cell.id, choices))
    return out


@lru_cache(maxsize=None)
def iter_s(detector: str) -> float:
    return next(v for k, v in ITER_S.items() if fnmatch.fnmatchcase(detector, k))


def stage_cost(picked: list[tuple[str, str, dict]], images=lambda table: 1) -> float:
    """The CPU seconds of a set of cells: a launch per table, each of its cells trained
    for the table's most iterations (one launch runs one schedule)."""
    return sum(_table_cost(tuple(c for c in picked if c[0] == t), images(t))
               for t in {c[0] for c in picked})


def cover(images=lambda table: 1) -> tuple[dict[str, list[str]], set]:
    """{table: [cell ids]} and the features no table cell has (entries no table uses).
    `images`: a table's images per GPU in the stage."""
    cells = table_cells()
    feats = [features(c[2]) for c in cells]
    reachable = set().union(*feats)
    todo = wanted() & reachable
    picked: list[int] = []
    while todo:
        base = stage_cost([cells[i] for i in picked], images)

        def gain(i: int) -> float:
            extra = stage_cost([cells[j] for j in picked + [i]], images) - base
            return len(feats[i] & todo) / max(extra, 1e-9)

        best = max((i for i in range(len(cells)) if feats[i] & todo), key=gain)
        picked.append(best)
        todo -= feats[best]
    need = wanted() & reachable

    def covers(sel: list[int]) -> bool:
        return need <= set().union(*(feats[j] for j in sel))

    def pruned(sel: list[int]) -> list[int]:
        """Without the cells the others cover, dearest first."""
        for i in sorted(sel, key=lambda i: -stage_cost([cells[i]], images)):
            if covers(rest := [j for j in sel if j != i]):
                sel = rest
        return sel

    def cost(sel: list[int]) -> float:
        return stage_cost([cells[j] for j in sel], images)

    # then single swaps (one cell for another, and what that makes redundant) while one
    # lowers the cost: e.g. a balancer's cell moved to a table already at 2 iterations
    picked = pruned(picked)
    better = True
    while better:
        better = False
        for k in range(len(picked)):
            for j in range(len(cells)):
                trial = picked[:k] + picked[k + 1:] + [j]
                if j not in picked and covers(trial) and \
                        cost(trial := pruned(trial)) < cost(picked) - 1e-9:
                    picked, better = trial, True
                    break
            if better:
                break
    chosen: dict[str, list[str]] = {}
    for i in sorted(picked):
        chosen.setdefault(cells[i][0], []).append(cells[i][1])
    return chosen, wanted() - reachable


def choices_of(table: str, cell: str) -> dict:
    return next(c for t, i, c in table_cells() if (t, i) == (table, cell))
