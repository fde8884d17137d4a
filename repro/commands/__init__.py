"""The commands a user runs: the sweep's command-line check (run), plan, status, report,
enter, the --help text (help), and their one argument parser and failure (args).

Their entry points are the thin modules at their documented names: `python -m repro`
(repro/__main__.py), `python -m repro.plan|status|enter` (repro/<name>.py), `python -m
repro.report` (repro/report/__main__.py) and the `repro` console script (repro/command.py).
The top layer: it may import every other one (docs/architecture.md)."""
