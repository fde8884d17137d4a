"""Compile a table body inside a minimal LaTeX document, where pdflatex exists (Debian's
texlive-latex-base, scripts/install_latex.sh; CI installs it and sets REPRO_REQUIRE_LATEX).
Without it the tests check the body's structure only."""
import os
import shutil
import subprocess
from pathlib import Path


def compile_if_available(tex: str, workdir: Path) -> None:
    if not shutil.which("pdflatex"):
        assert not os.environ.get("REPRO_REQUIRE_LATEX"), \
            "REPRO_REQUIRE_LATEX is set but pdflatex is missing: bash scripts/install_latex.sh"
        return
    (workdir / "t.tex").write_text("\\documentclass{article}\\begin{document}\n" + tex
                                   + "\\end{document}\n")
    r = subprocess.run(["pdflatex", "-interaction=nonstopmode", "t.tex"], cwd=workdir,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout[-2000:]
