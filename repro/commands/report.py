"""python -m repro.report [table=1|all] [profile=smoke] [sweeps_root=sweeps] [results_root=results] [show=false]

Regenerates, from the run records only, each table's results/<profile>/<table>.md, .csv,
.tex and <table>_claims.csv, and its figures under results/<profile>/figures/, and
prints the paths written; show=true also prints each table (its note, legend and
cells) as text. Runs during a sweep, after it, or on copied-back folders.
"""
from __future__ import annotations

import sys

from repro.commands import args as cli
from repro.core.errors import ReproError


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if cli.wants_help(argv, __doc__):
        return 0
    try:
        a = cli.parse(argv, "python -m repro.report", cli.DEFAULTS)
        specs = cli.tables(a["table"])
        show = cli.flag(a["show"], "show")
        cli.profile_dir(a["sweeps_root"], a["profile"])
        from repro.report.build import build

        for spec in specs:
            paths, text = build(spec, profile=a["profile"], sweeps_root=a["sweeps_root"],
                                results_root=a["results_root"])
            for path in paths:
                print(path)
            if show:
                print(text)
    except ReproError as e:
        return cli.fail(e)
    return 0

