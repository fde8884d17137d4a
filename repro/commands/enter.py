"""python -m repro.enter table=<id> cell=<row>__<column> seed=<k> AP=<x> [AP50=<x> ...]
                        [profile=smoke] [sweeps_root=sweeps]

Enter a score computed outside the harness (the COCO evaluation server's, for the
test-dev submission a `format_only` cell writes: repro/job/submission.py) into that
run's metrics.json, with "source": "evaluation server", so the report's collector reads
it like any metric. The run must exist and be done (its record says so); the table's
metric (AP) is required; more numbers (AP50, AP75, APs, ...) are kept beside it.
Entering again replaces the earlier entry.
"""
from __future__ import annotations

import math
import sys

import yaml

from repro.commands.args import fail, parse
from repro.core import records
from repro.core.errors import ReproError
from repro.core.paths import run_dir
from repro.job.provenance import now
from repro.table.spec import load_table

KEYS = ("table", "cell", "seed", "profile", "sweeps_root")
DEFAULTS = {"profile": "smoke", "sweeps_root": "sweeps"}
USAGE = "python -m repro.enter table=<id> cell=<row>__<column> seed=<k> AP=<x> [AP50=<x> ...]"
SOURCE = "evaluation server"


def _number(key: str, text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ReproError(f"{key}={text!r} is not a number; give the server's score, "
                         f"e.g. {key}=41.2") from None
    if not math.isfinite(value) or not 0 <= value <= 100:
        raise ReproError(f"{key}={text!r}: enter the server's score on its 0-100 scale")
    return value


def _run_metric(rd) -> str:
    """The run's dataset metric (AP for COCO), from the config it saved."""
    try:
        with open(rd / "config.yaml") as f:
            return str(yaml.safe_load(f)["dataset"]["metric"])
    except (OSError, KeyError, TypeError, yaml.YAMLError):
        return "AP"


def enter(argv: list[str]) -> dict:
    given = dict(a.partition("=")[::2] for a in argv if "=" in a)
    for arg in argv:
        if "=" not in arg:
            raise ReproError(f"unknown argument {arg!r}; usage: {USAGE}")
    args = parse([f"{k}={v}" for k, v in given.items() if k in KEYS], "repro.enter",
                 {**{k: "" for k in KEYS}, **DEFAULTS})
    missing = [k for k in ("table", "cell", "seed") if not args[k]]
    if missing:
        raise ReproError(f"missing {', '.join(k + '=' for k in missing)}; usage: {USAGE}")
    spec = load_table(args["table"])
    cell = spec.cell(args["cell"])  # an unknown cell names the table (TableError)
    if not args["seed"].isdigit():
        raise ReproError(f"seed={args['seed']!r}: give the run's seed, e.g. seed=0")
    scores = {k: _number(k, v) for k, v in given.items() if k not in KEYS}
    rd = run_dir(args["sweeps_root"], args["profile"], spec.id, cell.id, int(args["seed"]))
    status = records.read_status(rd)
    if not status or status.get("state") != records.DONE:
        state = status.get("state") if status else "no record"
        raise ReproError(f"run {rd} is not done ({state}): run the cell first, "
                         f"python -m repro table={args['table']} -m profile={args['profile']} "
                         f"'cells=[{cell.id}]', then upload its submission file")
    metric = _run_metric(rd)
    if metric not in scores:
        raise ReproError(f"no {metric}=...; the run's metric is {metric}: usage: {USAGE}")
    old = records.read_json(rd / records.METRICS) or {}
    metrics = {**{k: v for k, v in old.items() if k not in ("value", "all")},
               "metric": metric, "value": scores[metric], "scale": "0-100",
               "source": SOURCE, "entered": now(),
               "all": {k: v for k, v in scores.items()}}
    records.write_json(rd / records.METRICS, metrics)
    return {"run_dir": str(rd), **metrics}


def main(argv: list[str] | None = None) -> int:
    try:
        out = enter(sys.argv[1:] if argv is None else argv)
    except ReproError as e:
        return fail(e)
    print(f"entered {out['metric']} = {out['value']} ({SOURCE}) into {out['run_dir']}/metrics.json")
    return 0
