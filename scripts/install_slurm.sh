#!/usr/bin/env bash
# System packages for the SLURM tests (tests/test_slurm.py): Debian's slurm-wlm and munge,
# which tests/slurm_cluster.py runs as a one-node cluster on loopback. Needs root (CI runs
# as root); elsewhere run it with sudo, or the SLURM tests skip and say why.
exec bash "$(dirname "$0")/apt_ensure.sh" "slurmctld slurmd munged sbatch" "slurm-wlm munge"
