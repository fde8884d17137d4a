#!/usr/bin/env bash
# apt_ensure.sh "BIN..." "PKG...": install the Debian packages unless every binary is
# already on the PATH. Needs root (CI runs as root); returns at once when nothing is missing.
set -euo pipefail
bins=$1 pkgs=$2
missing=0
for b in $bins; do command -v "$b" >/dev/null || missing=1; done
[ "$missing" = 0 ] && exit 0
if [ "$(id -u)" != 0 ]; then
  echo "$(basename "$0"): needs root to apt-get install $pkgs" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $pkgs >/dev/null
