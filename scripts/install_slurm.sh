#!/usr/bin/env bash
# System packages for the SLURM tests (tests/test_slurm.py): Debian's slurm-wlm and munge,
# which tests/slurm_cluster.py runs as a one-node cluster on loopback; and slurmdbd with
# mariadb-server, the accounting (sacct) that tests/test_accounting.py starts beside it
# (tests/slurm_accounting.py). Needs root (CI runs as root); elsewhere run it with sudo,
# or those tests skip and say why.
exec bash "$(dirname "$0")/apt_ensure.sh" "slurmctld slurmd munged sbatch slurmdbd mariadbd" \
    "slurm-wlm munge slurmdbd mariadb-server"
