"""python -m repro.doctor on real-layout fixtures (issue 13, point 3): a good machine
passes what can pass on a CPU, and a wrong count, a wrong hash and a missing file each
produce their line and a non-zero exit."""
import shutil

import pytest

from repro.mmdet.checkpoint_files import write_checkpoint
from repro.data.paper_layout import write_voc
from repro.commands.doctor import main

# The fixture's own counts as the "real" ones, so that a good copy passes the count check.
FIXTURE_COUNTS = ("dataset.images.VOC2012_trainval=4", "dataset.images.VOC2007_test=2")
CPU = ("profile.device=cpu", "profile.gpus=0")


@pytest.fixture(scope="module")
def machine(tmp_path_factory):
    root = tmp_path_factory.mktemp("doctor")
    write_voc(root / "data")
    return root, write_checkpoint("resnet50", root / "checkpoints")


def doctor(capsys, root, weights, *extra):
    code = main(["table=3", f"profile.data_root={root / 'data'}",
                 f"profile.pretrained.resnet50={weights}", f"sweeps_root={root / 'sweeps'}",
                 *extra])
    return code, capsys.readouterr().out.splitlines()


def test_a_good_cpu_machine_passes(machine, capsys):
    root, weights = machine
    code, lines = doctor(capsys, root, weights, *FIXTURE_COUNTS, *CPU)
    assert code == 0, lines
    assert lines[0].startswith("ok   torch: ")
    assert ("ok   mmcv ops: NMS and RoIAlign ran on a CPU tensor (no CUDA here: the CUDA "
            "kernels are not checked)") in lines
    assert "ok   dataset voc VOC2012_trainval: 4 images, 4 annotation files, as the real one" in lines
    assert "ok   dataset voc VOC2007_test: 2 images, 2 annotation files, as the real one" in lines
    assert any(l.startswith("ok   weights resnet50: ") and f"prefix {weights.name[9:17]} matches"
               in l for l in lines), lines
    assert any(l.startswith("ok   disk: ") for l in lines)
    assert lines[-1] == "no blocking finding"


def test_the_disk_finding_is_the_plans_disk_figure(machine, capsys):
    """One estimate: the doctor's free-disk check uses python -m repro.plan's Disk line
    for the same table, profile and launcher (a SLURM launch trains more runs at once)."""
    from repro.commands.plan import main as plan

    root, weights = machine
    peaks = []
    for launcher in ((), ("launcher=slurm",)):
        assert plan(["table=3", "profile=paper", f"sweeps_root={root / 'sweeps'}",
                     *launcher]) == 0
        [disk] = [l for l in capsys.readouterr().out.splitlines() if l.startswith("Disk: ")]
        peak = disk.removeprefix("Disk: ").split(", ")[0]
        assert "at the peak (" in peak
        code, lines = doctor(capsys, root, weights, *FIXTURE_COUNTS, *CPU, *launcher)
        [line] = [l for l in lines if l.startswith("ok   disk: ")]
        assert f"the table needs {peak}" in line, (line, disk)
        peaks.append(peak)
    assert peaks[0].split(" (")[1].startswith("2 run(s) at once") and peaks[1] != peaks[0]


def test_the_paper_profile_on_a_cpu_machine_blocks_on_cuda_and_gpus(machine, capsys):
    root, weights = machine
    code, lines = doctor(capsys, root, weights, *FIXTURE_COUNTS)
    assert code == 1
    assert any(l.startswith("FAIL CUDA: torch sees no CUDA device") for l in lines)
    assert any(l.startswith("FAIL GPUs: the profile asks for 4 per cell; this machine has 0")
               for l in lines)


def test_real_counts_a_wrong_hash_and_missing_files_each_have_their_line(machine, capsys,
                                                                         tmp_path):
    root, weights = machine
    code, lines = doctor(capsys, root, weights, *CPU)  # the real counts: the fixture is small
    assert code == 1
    assert ("FAIL dataset voc VOC2012_trainval: 4 ids in ImageSets/Main (real: 11,540) -- fix: "
            f"a partial or different copy of VOC at {root / 'data' / 'VOCdevkit'}: download "
            "and unpack it again") in lines
    assert any(l.startswith("FAIL dataset voc VOC2007_test: 2 ids in ImageSets/Main (real: 4,952)")
               for l in lines)
    wrong = tmp_path / "resnet50-0676ba61.pth"  # torchvision's real name, not this file's hash
    shutil.copy(weights, wrong)
    code, lines = doctor(capsys, root, wrong, *FIXTURE_COUNTS, *CPU)
    assert code == 1
    assert any(l.startswith("FAIL weights resnet50: resnet50-0676ba61.pth: sha256 ")
               and "does not match the name's 0676ba61" in l for l in lines), lines
    code, lines = doctor(capsys, root, tmp_path / "gone.pth", *FIXTURE_COUNTS, *CPU)
    assert code == 1
    assert any(l.startswith(f"FAIL weights resnet50: {tmp_path / 'gone.pth'} is missing -- fix:")
               for l in lines), lines
    data = tmp_path / "data"
    shutil.copytree(root / "data", data)
    next((data / "VOCdevkit/VOC2012/JPEGImages").iterdir()).unlink()
    code, lines = main(["table=3", f"profile.data_root={data}",
                        f"profile.pretrained.resnet50={weights}", *FIXTURE_COUNTS, *CPU]), \
        capsys.readouterr().out.splitlines()
    assert code == 1
    assert any(l.startswith("FAIL dataset voc VOC2012_trainval: 1 JPEGs missing") for l in lines)


def test_a_bad_argument_is_one_line_and_exit_2(capsys):
    assert main(["table=nope"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("repro: ")
