"""`python -m repro.doctor`: the doctor command, repro/commands/doctor.py (its --help says
what it takes). Only an entry point: the command's code lives in repro/commands/."""
import sys

if __name__ == "__main__":
    from repro.commands.doctor import main

    sys.exit(main())
