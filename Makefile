# The two commands of the README. Each sets up .venv first (idempotent: scripts/setup.sh
# returns at once when nothing changed, and mmcv's compiled wheel is cached).
#   make run                  # python -m repro table=1 -m on the embedded default
#   make run ARGS="table=1 -m seeds=3"
#   make test                 # the test suite (what CI runs)
#   make rehearse             # the rehearsal stage (CI's second stage): paper-scale cells
#                             # on real-layout fixtures, CPU; docs/benchmarks.md "Rehearsal"
ARGS ?= table=1 -m
PYTEST_ARGS ?=
REHEARSAL = tests/test_rehearsal.py

.PHONY: run test rehearse setup
setup:
	@bash scripts/setup.sh
run: setup
	.venv/bin/python -m repro $(ARGS)
test: setup
	.venv/bin/python -m pytest $(PYTEST_ARGS)
rehearse: setup
	.venv/bin/python -m pytest -m rehearse $(REHEARSAL) --durations=0 $(PYTEST_ARGS)
