# The two commands of the README. Each sets up .venv first (idempotent: scripts/setup.sh
# returns at once when nothing changed, and mmcv's compiled wheel is cached).
#   make run                  # python -m repro table=1 -m on the embedded default
#   make run ARGS="table=1 -m seeds=3"
#   make test                 # the test suite (what CI runs), on TEST_WORKERS=2 workers
#   make rehearse             # the rehearsal stage (CI's second stage): paper-scale cells
#                             # on real-layout fixtures, CPU; docs/benchmarks.md "Rehearsal"
ARGS ?= table=1 -m
PYTEST_ARGS ?=
# pytest-xdist workers of `make test` (the suite alone keeps one core busy; TEST_WORKERS=0
# runs it in one process). The rehearsal stage stays serial: its time is a benchmark.
TEST_WORKERS ?= 2
REHEARSAL = tests/test_rehearsal.py

.PHONY: run test rehearse setup
setup:
	@bash scripts/setup.sh
run: setup
	.venv/bin/python -m repro $(ARGS)
test: setup
	.venv/bin/python -m pytest -n $(TEST_WORKERS) $(PYTEST_ARGS)
rehearse: setup
	.venv/bin/python -m pytest -m rehearse $(REHEARSAL) --durations=0 $(PYTEST_ARGS)
