"""`python -m repro.enter`: the enter command, repro/commands/enter.py (its --help says
what it takes). Only an entry point: the command's code lives in repro/commands/."""
import sys

if __name__ == "__main__":
    from repro.commands.enter import main

    sys.exit(main())
