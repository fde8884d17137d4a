# The two commands of the README. Each sets up .venv first (idempotent: scripts/setup.sh
# returns at once when nothing changed, and mmcv's compiled wheel is cached).
#   make run                  # python -m repro table=1 -m on the embedded default
#   make run ARGS="table=1 -m seeds=3"
#   make test                 # the test suite (what CI runs)
#   make rehearse             # the rehearsal stage: paper-scale cells on real-layout
#                             # fixtures, CPU, est. 45-60 min on 2 cores
#   make rehearse-ci          # its CI share: one VOC and two COCO cells at the paper's
#                             # 2 images per GPU, and the 2-task gloo cell through SLURM
ARGS ?= table=1 -m
PYTEST_ARGS ?=
REHEARSAL = tests/test_rehearsal.py
# What .ci/run rehearses (the whole stage does not fit CI beside the suite; docs/benchmarks.md)
REHEARSE_CI = '$(REHEARSAL)::test_every_entry_rehearses_at_the_papers_scale[1]' \
	'$(REHEARSAL)::test_every_entry_rehearses_at_the_papers_scale[5]' \
	'$(REHEARSAL)::test_one_cell_as_a_two_task_gloo_job_through_slurm'

.PHONY: run test rehearse rehearse-ci setup
setup:
	@bash scripts/setup.sh
run: setup
	.venv/bin/python -m repro $(ARGS)
test: setup
	.venv/bin/python -m pytest $(PYTEST_ARGS)
rehearse: setup
	.venv/bin/python -m pytest -m rehearse $(REHEARSAL) $(PYTEST_ARGS)
rehearse-ci: setup
	.venv/bin/python -m pytest -m rehearse $(REHEARSE_CI) $(PYTEST_ARGS)
