"""scripts/gpu_check.sh without a GPU (issue 13, point 5): it says so and exits 0,
measuring nothing and writing nothing; its figures replace their own section of a
benchmarks file. The CPU dry run (`--device cpu --iters 2`, a real paper-scale training)
is in the rehearsal stage (tests/test_rehearsal.py)."""
import importlib.util
import os
import subprocess

from conftest import ROOT

spec = importlib.util.spec_from_file_location("gpu_check", ROOT / "scripts" / "gpu_check.py")
gpu_check = importlib.util.module_from_spec(spec)
spec.loader.exec_module(gpu_check)


def test_without_a_gpu_it_says_so_and_exits_0(tmp_path):
    out = tmp_path / "bench.md"
    r = subprocess.run(["bash", "scripts/gpu_check.sh", "--out", str(out)], cwd=ROOT,
                       capture_output=True, text=True, timeout=300,
                       env={**os.environ, "CUDA_VISIBLE_DEVICES": ""})
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("gpu_check: no CUDA GPU on this machine (torch sees none); "
                               "nothing measured.")
    assert not out.exists()


def test_its_figures_replace_their_own_section(tmp_path):
    md = tmp_path / "benchmarks.md"
    md.write_text("# Benchmarks\n\n## GPU\n\nold text\n")
    gpu_check.write_section(md, "first figures")
    gpu_check.write_section(md, "second figures")
    assert md.read_text() == ("# Benchmarks\n\n## GPU\n\nold text\n\n"
                              f"{gpu_check.BEGIN}\nsecond figures\n{gpu_check.END}\n")
