"""`python -m repro table=<id> -m`: checking the sweep's command line before Hydra runs.

Bad input gets one message naming the problem and the fix, exit status 2, no
traceback, and nothing written (Hydra would create run folders before a job starts, so
what can be checked from the command line is checked before Hydra runs).
"""
from __future__ import annotations

import functools
import sys

from repro.commands.args import fail
from repro.core.errors import ReproError
from repro.core.paths import CONF_DIR
from repro.sweep.choices import check_choice
from repro.table.spec import available_tables, load_table

HELP_FLAGS = {"-h", "--help", "--hydra-help", "--info", "-i", "--cfg", "-c", "--resolve",
              "--shell-completion", "-sc"}


def exit_on_user_error(fn):
    """Turn a ReproError into the one-line message and exit 2 (inside Hydra too)."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except ReproError as e:
            sys.exit(fail(e))
    return wrapper


def table_argument(argv: list[str]) -> str | None:
    for arg in argv:
        if arg.startswith("table="):
            return arg.split("=", 1)[1]
    return None


def hydra_argv(argv: list[str]) -> list[str]:
    """The command line as Hydra needs it.

    - Hydra's parser takes overrides on one side of -m only: `table=1 -m seeds=3` works
      once the multirun flag is moved to the front.
    - `table=1` would reach Hydra as the integer 1, and `rehearse=true` as a boolean,
      which it refuses as config-group choices; quoting makes them the names of
      conf/table/1.yaml and conf/rehearse/true.yaml.
    """
    flags = [a for a in argv if a in ("-m", "--multirun")]
    rest = [_quoted_choice(a) for a in argv if a not in flags]
    return flags + rest


def _quoted_choice(arg: str) -> str:
    key, eq, value = arg.partition("=")
    plain = value.isdigit() or value.lower() in ("true", "false")
    return f"{key}='{value}'" if eq and plain and key in ("table", "rehearse") else arg


def _entry_composed_first(group: str, argv: list[str]) -> dict | None:
    """The entry of a group Hydra composes before the sweep: the command line's choice, or
    conf/config.yaml's default; as plain YAML (None: no such group)."""
    import yaml

    name = next((a.split("=", 1)[1] for a in argv if a.startswith(f"{group}=")), None)
    if name is None:
        with open(CONF_DIR / "config.yaml") as f:
            defaults = yaml.safe_load(f).get("defaults", [])
        name = next((item[group] for item in defaults
                     if isinstance(item, dict) and item.get(group)), None)
    path = CONF_DIR / group / f"{name}.yaml"
    if name is None or not path.is_file():
        return None
    with open(path) as f:
        return {"_name": name, **(yaml.safe_load(f) or {})}


def check_group_key(key: str, value: str, argv: list[str]) -> None:
    """`balancer.cls_kpi=x`: Hydra composes the default entry (static) first and refuses a
    key it lacks, before any cell's own balancer is chosen; `++` sets it where it exists."""
    group, _, sub = key.partition(".")
    if "." in sub or not (CONF_DIR / group).is_dir():
        return
    entry = _entry_composed_first(group, argv)
    if entry is not None and sub not in entry:
        raise ReproError(f"{key} is not a setting of {group}={entry['_name']}, which Hydra "
                         f"composes before each cell picks its own {group}; write "
                         f"++{key}={value} to set it in the cells whose {group} has it")


def precheck_argv(argv: list[str]) -> None:
    if HELP_FLAGS.intersection(argv):
        return
    table = table_argument(argv)
    if table is None or table in ("", "null"):
        raise ReproError(f"no table selected. Tables: {', '.join(available_tables())}. "
                         f"Run one with: python -m repro table=1 -m")
    load_table(table)  # unknown table, or a table file that does not parse
    for arg in argv:  # a config-group choice that does not exist: detector=..., balancer=...
        key, eq, value = arg.partition("=")
        if eq and key == "trackers":  # an unknown tracker, or one whose package is missing
            import yaml

            from repro.core.tracker_options import check_trackers

            try:
                check_trackers(yaml.safe_load(value))
            except yaml.YAMLError:
                raise ReproError(f"trackers={value}: give a list, e.g. "
                                 f"trackers=[tensorboard,mlflow]") from None
        elif eq and "." not in key and "/" not in key and not key.startswith(("+", "~")):
            check_choice(key, value)
        elif eq and key.count(".") == 1 and not key.startswith(("+", "~", "hydra.")):
            check_group_key(key, value, argv)
    if not {"-m", "--multirun"}.intersection(argv):
        raise ReproError(f"a table is a sweep: add -m (python -m repro table={table} -m); "
                         f"to run some cells only, add cells='<pattern>'")
