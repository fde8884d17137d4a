#!/usr/bin/env bash
# System package for compiling the reports' LaTeX tables in the tests (tests/latex_check.py):
# Debian's texlive-latex-base (pdflatex; about 20 s to install). Without it the tests check
# the tables' structure only. Needs root (CI runs as root). Returns at once when present.
set -euo pipefail
if command -v pdflatex >/dev/null; then
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "install_latex.sh: needs root to apt-get install texlive-latex-base" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends texlive-latex-base >/dev/null
