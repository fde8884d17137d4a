"""`python -m repro.report`: the report command, repro/commands/report.py (its --help says
what it takes). Only an entry point: the command's code lives in repro/commands/."""
import sys

if __name__ == "__main__":
    from repro.commands.report import main

    sys.exit(main())
