"""`python -m repro.plan`: the plan command, repro/commands/plan.py (its --help says
what it takes). Only an entry point: the command's code lives in repro/commands/."""
import sys

if __name__ == "__main__":
    from repro.commands.plan import main

    sys.exit(main())
