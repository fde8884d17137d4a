"""`repro --help` (and `python -m repro --help`): what there is to run, before Hydra's own
help: the tables with their cell counts and smoke times, the profiles, the config
groups, the options of a sweep and the sibling commands. The tables' runs and times are
the plan's (repro/commands/plan.py: each cell composed as its job composes it)."""
from __future__ import annotations

import os

from repro.core.paths import CONF_DIR
from repro.sweep.choices import choices

GROUPS = ("detector", "dataset", "optimizer", "reg_loss", "cls_loss", "balancer")
SIBLINGS = {  # `repro <name> ...` runs `python -m repro.<name> ...`
    "plan": "price a table before running it: each cell's state, how it would run, CPU "
            "minutes or GPU-hours",
    "status": "where a sweep stands, from the run records: each cell x seed, and a "
              "one-line summary per table",
    "report": "regenerate tables, claims and figures from the run folders",
    "enter": "enter an evaluation server's score for a test-dev run (HCRAL Table 7)",
    "doctor": "check this machine for a table under the paper profile: GPUs, ops, data "
              "counts, weights' hashes, disk",
}


def _minutes(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.0f} min"


def table_lines() -> list[str]:
    """One line per table: its id, paper, cells and runs (with the smoke profile's
    noise seeds) and the smoke wall time conf/cost.yaml predicts (python -m repro.plan)."""
    import yaml

    from repro.commands import plan
    from repro.sweep.compose import hydra_composer
    from repro.table.spec import available_tables, load_table

    workers = int(os.environ.get("REPRO_LOCAL_JOBS", "2"))
    a = {**plan.DEFAULTS, "profile": "smoke"}
    with open(CONF_DIR / "cost.yaml") as f:
        cost = yaml.safe_load(f)
    lines = []
    for name in available_tables():
        spec = load_table(name)
        with hydra_composer(plan.context(spec, a)) as compose:
            runs = plan.runs(spec, a, compose)
        plan.price(runs, a, cost)
        caption = " ".join(spec.caption.split())
        caption = caption if len(caption) <= 58 else caption[:55].rstrip() + "..."
        label = f"{spec.paper} Table {spec.number}"
        took = "~" + _minutes(sum(r.cost for r in runs) / workers)
        lines.append(f"  table={name:<8} {label:<14} {len(spec.cells()):>3} cells "
                     f"{len(runs):>4} runs {took:>8}  {caption}")
    return lines


def text() -> str:
    profiles = ", ".join(choices("profile"))
    groups = [f"  {g + '=':<11} {', '.join(choices(g))}" for g in GROUPS]
    workers = int(os.environ.get("REPRO_LOCAL_JOBS", "2"))
    return "\n".join([
        "repro: regenerate the ALWA and HCRAL papers' tables from real MMDetection runs.",
        "",
        "Usage: repro table=<id> -m [overrides]     (the same as python -m repro ...)",
        "  runs a table's sweep (one training + test per cell and seed), printing one line",
        "  per finished run, then writes results/<profile>/<table>.md, .csv, .tex and figures.",
        "  Examples: repro table=1 -m | repro table=1 -m seeds=3 | "
        "repro table=2 -m 'cells=[faster_r50*]'",
        "",
        f"Tables (conf/table/; runs include the reference cells' noise seeds; smoke wall time "
        f"at {workers} workers, predicted from conf/cost.yaml):",
        *table_lines(),
        "",
        f"Profiles (profile=): {profiles}   smoke (default): synthetic data, CPU, seconds "
        f"per cell; paper: the paper's scale (GPUs, real data)",
        "",
        "Config groups (each table sets its cells' own; see conf/<group>/):",
        *groups,
        "",
        "Options of a sweep:",
        "  seeds=3 | seeds=[0,3]      seeds of every cell (noise_seeds=N: of the reference cells)",
        "  cells='[pattern,...]'      only the cells matching these fnmatch patterns",
        "  retry_failed=true          rerun failed cells (a relaunch keeps them by default)",
        "  force=true                 rerun every selected cell, done ones included",
        "  verbose=true               MMDetection's own log on the console (default: each "
        "run folder's run.log)",
        "  trackers=[tensorboard]     where the training curves go; also mlflow (local file "
        "store), wandb (offline); [] for none",
        "  sweeps_root=... results_root=...   where run folders and tables are written",
        "  hydra/launcher=slurm       SLURM job arrays (the profile's slurm block); default: "
        "local workers",
        "",
        "Sibling commands (repro <command> ... runs python -m repro.<command> ...):",
        *[f"  repro {name:<7} {what}" for name, what in SIBLINGS.items()],
        "",
        "Hydra's own help (every config value and group): repro --hydra-help; the composed "
        "config: repro table=1 --cfg job",
    ])
