#!/usr/bin/env bash
# System package for compiling the reports' LaTeX tables in the tests (tests/latex_check.py):
# Debian's texlive-latex-base (pdflatex; about 20 s to install). Without it the tests check
# the tables' structure only. Needs root (CI runs as root).
exec bash "$(dirname "$0")/apt_ensure.sh" "pdflatex" "texlive-latex-base"
