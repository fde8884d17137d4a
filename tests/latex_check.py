"""Compile a table body inside a minimal LaTeX document, where pdflatex exists (it is not
installed on the reference machine, nor installable from PyPI: the tests then check the
body's structure only)."""
import shutil
import subprocess
from pathlib import Path


def compile_if_available(tex: str, workdir: Path) -> None:
    if not shutil.which("pdflatex"):
        return
    (workdir / "t.tex").write_text("\\documentclass{article}\\begin{document}\n" + tex
                                   + "\\end{document}\n")
    r = subprocess.run(["pdflatex", "-interaction=nonstopmode", "t.tex"], cwd=workdir,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout[-2000:]
