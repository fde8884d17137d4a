"""`python -m repro.status`: the status command, repro/commands/status.py (its --help says
what it takes). Only an entry point: the command's code lives in repro/commands/."""
import sys

if __name__ == "__main__":
    from repro.commands.status import main

    sys.exit(main())
