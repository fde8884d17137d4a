"""The one argument parser of the commands (plan, status, report, enter): key=value,
and the one way every command fails on bad input (`fail`).

No Hydra: these commands only read files, start in a fraction of a second, and take a
handful of plain keys. Every mistake is a ReproError naming the problem and the fix.
(The sweep, `python -m repro table=<id> -m`, is Hydra's command line: repro/commands/run.py
checks it before Hydra runs and fails the same way.)
"""
from __future__ import annotations

import sys
from pathlib import Path

from repro.core.errors import ReproError
from repro.core.paths import project_path
from repro.table.spec import TableSpec, available_tables, load_table

DEFAULTS = {"table": "all", "profile": "smoke", "sweeps_root": "sweeps",
            "results_root": "results", "show": "false"}


def parse(argv: list[str], command: str, defaults: dict) -> dict:
    args = dict(defaults)
    for arg in argv:
        key, eq, value = arg.partition("=")
        if not eq or key not in defaults:
            raise ReproError(f"unknown argument {arg!r}; {command} takes "
                             f"{' '.join(k + '=...' for k in defaults)}")
        args[key] = value
    return args


def tables(value: str) -> list[TableSpec]:
    """table=all, or one name; an unknown name lists the tables (load_table)."""
    names = available_tables() if value == "all" else [value]
    return [load_table(n) for n in names]


def flag(value: str, key: str) -> bool:
    if value.lower() in ("true", "1", "yes"):
        return True
    if value.lower() in ("false", "0", "no", ""):
        return False
    raise ReproError(f"{key}={value!r}: use {key}=true or {key}=false")


def profile_dir(sweeps_root: str, profile: str) -> Path:
    """The profile's run folders; refused when none exist (a typo, or nothing run yet)."""
    root = project_path(sweeps_root)
    folder = root / profile
    if not folder.is_dir():
        known = sorted(p.name for p in root.iterdir() if p.is_dir()) if root.is_dir() else []
        raise ReproError(f"no run folders for profile {profile!r} in {root} (profiles with "
                         f"runs: {', '.join(known) or 'none'}); pick one with profile=<name>, "
                         f"point sweeps_root= at the run folders, or run a sweep first: "
                         f"python -m repro table=1 -m profile={profile}")
    return folder


def wants_help(argv: list[str], doc: str) -> bool:
    if {"-h", "--help"}.intersection(argv):
        print(doc.strip())
        return True
    return False


def fail(error: BaseException) -> int:
    """Every command's one way out on bad input: the message on one line, exit status 2.
    Anything but a ReproError is a bug, and raises with its traceback."""
    if not isinstance(error, ReproError):
        raise error
    print(f"repro: {error}", file=sys.stderr)
    return 2
