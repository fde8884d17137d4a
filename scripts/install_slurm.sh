#!/usr/bin/env bash
# System packages for the SLURM tests (tests/test_slurm.py): Debian's slurm-wlm and munge,
# which tests/slurm_cluster.py runs as a one-node cluster on loopback. Needs root (CI
# runs as root); elsewhere run it with sudo, or the SLURM tests skip and say why.
# Returns at once when the binaries are already there.
set -euo pipefail
if command -v slurmctld >/dev/null && command -v slurmd >/dev/null && command -v munged >/dev/null \
   && command -v sbatch >/dev/null; then
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "install_slurm.sh: needs root to apt-get install slurm-wlm munge" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends slurm-wlm munge >/dev/null
