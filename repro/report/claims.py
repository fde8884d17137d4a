"""A paper's conclusions as data, checked on the paper's numbers and on ours.

A table file may end with a `claims:` list; each claim quotes the paper (`text`) and
says how to check it (`kind` and its parameters, see repro/report/claim_kinds.py):

    claims:
      - id: reg_gt_cls_beats_baseline
        conclusion: 3
        text: "When regression loss weight is greater than ..., the detector will be improved."
        kind: rows_beat_baseline
        rows: {gt: [balancer.reg_weight, balancer.cls_weight]}
        columns: {group: VOC}

The table spec (repro/table/spec.py) ignores the list; it is read here from the raw YAML.
Each claim is judged twice: on the paper's own numbers (taken as exact, a check that
the claim is encoded as the paper means it) and on the reproduced cells, where

  - a difference counts only outside the measured noise: beyond t(0.975, dof) standard
    errors of the compared quantity (repro/report/noise.py: the seed-to-seed spread of
    the table's reference cells; single deltas paired by seed where possible);
  - a claim whose evidence lies within the noise, or that has no noise estimate at all,
    is "inconclusive: within noise", never "holds" or "does not hold";
  - fewer than half of the covered cells with a number ("every" kinds: any missing cell)
    gives "not enough data".
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import yaml

from repro.core.errors import ReproError
from repro.core.paths import CONF_DIR
from repro.report.claim_kinds import KINDS
from repro.report.evidence import Source, paper_source, reproduced_source
from repro.table.spec import TableSpec

COMMON = ("id", "text", "kind", "conclusion")
RESULT_COLUMNS = ["table", "claim", "conclusion", "kind", "text", "paper", "paper_numbers",
                  "reproduced", "numbers"]


@dataclass(frozen=True)
class Claim:
    id: str
    text: str
    kind: str
    params: dict = field(default_factory=dict)
    conclusion: str = ""

    def where(self, spec: TableSpec) -> str:
        return f"conf/table/{spec.name}.yaml, claim {self.id}"

    def check(self, spec: TableSpec, source: Source) -> tuple[str, str]:
        check = KINDS[self.kind][0]
        verdict, numbers = check(spec, source, self.params, self.where(spec))
        return verdict, numbers + source.caveat()


def _claim(spec: TableSpec, i: int, d) -> Claim:
    name = d.get("id", i + 1) if isinstance(d, dict) else i + 1
    where = f"conf/table/{spec.name}.yaml, claim {name}"
    if not isinstance(d, dict) or not {"id", "text", "kind"} <= set(d):
        raise ReproError(f"{where}: a claim needs id, text (the paper's words) and kind")
    if d["kind"] not in KINDS:
        raise ReproError(f"{where}: unknown kind {d['kind']!r}; kinds: {', '.join(KINDS)}")
    _, required, optional = KINDS[d["kind"]]
    params = {k: v for k, v in d.items() if k not in COMMON}
    unknown = set(params) - set(required) - set(optional) - {"min_done"}
    missing = set(required) - set(params)
    if unknown or missing:
        raise ReproError(f"{where} ({d['kind']}): unknown {sorted(unknown)}, missing "
                         f"{sorted(missing)}; it takes {', '.join(required + optional)}")
    share = params.get("min_done", 0.5)
    if isinstance(share, bool) or not isinstance(share, (int, float)) or not 0 < share <= 1:
        raise ReproError(f"{where}: min_done is the share of covered cells that need a "
                         f"number, in (0, 1]; got {share!r}")
    claim = Claim(str(d["id"]), " ".join(str(d["text"]).split()), d["kind"], params,
                  str(d.get("conclusion", "")))
    claim.check(spec, paper_source(spec))  # selectors and parameters fail here, not later
    return claim


def parse_claims(spec: TableSpec, raw: list | None) -> list[Claim]:
    claims = [_claim(spec, i, d) for i, d in enumerate(raw or [])]
    ids = [c.id for c in claims]
    if len(set(ids)) != len(ids):
        raise ReproError(f"conf/table/{spec.name}.yaml: duplicate claim ids {ids}")
    return claims


def load_claims(spec: TableSpec, conf_dir: Path = CONF_DIR) -> list[Claim]:
    """The `claims:` of conf/table/<name>.yaml; none for a table without a file."""
    path = conf_dir / "table" / f"{spec.name}.yaml"
    if not path.is_file():
        return []
    with open(path) as f:
        raw = yaml.safe_load(f) or {}
    return parse_claims(spec, raw.get("claims"))


def evaluate(spec: TableSpec, claims: list[Claim], cells: pd.DataFrame) -> pd.DataFrame:
    """One row per claim: the verdict on the paper's numbers and on ours, with numbers."""
    paper, ours = paper_source(spec), reproduced_source(cells)
    out = []
    for c in claims:
        (pv, pn), (rv, rn) = c.check(spec, paper), c.check(spec, ours)
        out.append(dict(zip(RESULT_COLUMNS, (spec.name, c.id, c.conclusion, c.kind, c.text,
                                             pv, pn, rv, rn))))
    return pd.DataFrame(out, columns=RESULT_COLUMNS)
