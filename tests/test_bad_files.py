"""More bad input, refused before the first job with one line naming the key or file and
the fix, exit 2, nothing written: a value against the groups' schema, a dataset whose
files are damaged or whose folder this user cannot read, weights of another architecture,
a sweeps_root that cannot be written."""
import os
import subprocess
import sys

import pytest
import torch

from conftest import DATA_ROOT, ROOT, tmpfs
from test_bad_input import _assert_clean_refusal


def test_a_value_against_the_schema_is_refused_before_anything_runs(repro):
    _assert_clean_refusal(repro("table=1", "-m", "profile.iters=abc"), repro.tmp_path,
                          "table 1, cell ", "profile.iters='abc' must be a whole number >= 1")


@pytest.mark.parametrize("override, needle", [
    ("+profile.iter=5", "profile.iter is not a setting of profile (it has: backbone,"),
    ("profile.device=tpu", "profile.device='tpu' must be one of cpu, cuda"),
    ("dataset.epochs=0", "dataset.epochs=0 must be a whole number >= 1"),
    ("optimizer.type=Adam", "optimizer.type='Adam' must be one of SGD, AdamW"),
    ("reg_loss.loss.loss_weight=-1", "reg_loss.loss={'type': 'L1Loss', 'loss_weight': -1}"),
    ("profile.slurm.timeout_min=0.5", "profile.slurm.timeout_min=0.5 must be a whole number"),
    ("profile.sample_seeds=1", "profile.sample_seeds=1 must be true or false"),
    ("cls_loss=focal", None),  # a valid entry passes
])
def test_every_group_key_is_checked_against_its_schema(override, needle):
    from hydra import compose, initialize_config_dir
    from omegaconf import OmegaConf

    from repro.core.errors import ReproError
    from repro.core.paths import CONF_DIR
    from repro.sweep.schema import check_config

    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = compose("config", overrides=["table='1'", override])
    groups = OmegaConf.to_container(cfg, resolve=True)
    if needle is None:
        check_config(groups, "cell c")
        return
    with pytest.raises(ReproError) as refused:
        check_config(groups, "cell c")
    assert str(refused.value).startswith("cell c: ") and needle in str(refused.value)


def resnet(blocks):
    """A torchvision-shaped ResNet state dict with `blocks` per stage (tiny tensors)."""
    state = {"conv1.weight": torch.zeros(1)}
    for stage, n in enumerate(blocks, start=1):
        for b in range(n):
            state[f"layer{stage}.{b}.conv1.weight"] = torch.zeros(1)
    return state


@pytest.fixture
def paper_files(tmp_path):
    """A VOC folder with one image per split and ResNet-50-shaped weights."""
    voc = tmp_path / "d" / "VOCdevkit"
    for year, listing in (("VOC2012", "trainval"), ("VOC2007", "test")):
        for sub in ("ImageSets/Main", "JPEGImages", "Annotations"):
            (voc / year / sub).mkdir(parents=True)
        (voc / year / "ImageSets/Main" / f"{listing}.txt").write_text("img1\n")
        (voc / year / "JPEGImages" / "img1.jpg").write_bytes(b"\xff\xd8")
        (voc / year / "Annotations" / "img1.xml").write_text("<annotation></annotation>")
    (tmp_path / "w").mkdir()
    torch.save(resnet((3, 4, 6, 3)), tmp_path / "w" / "r50.pth")
    return voc


def paper(repro, tmp_path, *extra):
    return repro("table=1", "-m", "profile=paper", f"profile.data_root={tmp_path}/d",
                 "cells=[w1.00-1.00__voc_*]", "hydra/launcher=slurm",
                 f"profile.pretrained.resnet50={tmp_path}/w/r50.pth", *extra)


def test_the_fixture_passes_the_file_checks(repro, tmp_path, paper_files):
    # Past every file check the sweep reaches SLURM's dry run, which refuses the
    # partition: each refusal below is the file check's, not a side effect.
    r = paper(repro, tmp_path, "hydra.launcher.partition=no_such_partition")
    assert "does not parse" not in r.stderr and "are not resnet50" not in r.stderr, r.stderr
    assert "SLURM" in r.stderr, r.stderr


def test_an_annotation_that_does_not_parse(repro, tmp_path, paper_files):
    xml = paper_files / "VOC2012" / "Annotations" / "img1.xml"
    xml.write_text("<annotation><object>")
    _assert_clean_refusal(paper(repro, tmp_path), tmp_path, f"annotation {xml} does not parse",
                          "unpack the VOC2012 tar again")


def test_an_image_listed_but_missing(repro, tmp_path, paper_files):
    (paper_files / "VOC2007" / "JPEGImages" / "img1.jpg").unlink()
    _assert_clean_refusal(paper(repro, tmp_path), tmp_path, "lists image img1, but",
                          "VOC2007/JPEGImages/img1.jpg is missing")


def test_weights_of_another_architecture(repro, tmp_path, paper_files):
    torch.save(resnet((3, 4, 23, 3)), tmp_path / "w" / "r50.pth")  # a ResNet-101
    _assert_clean_refusal(paper(repro, tmp_path), tmp_path, "r50.pth are not resnet50",
                          "(3, 4, 23, 3) blocks, resnet50 has (3, 4, 6, 3)")


def test_a_read_only_sweeps_root(tmp_path):
    ro = tmp_path / "ro"
    # A read-only mount refuses even root (CI runs as root; chmod would not).
    with tmpfs(ro, "ro,size=64k"):
        r = subprocess.run([sys.executable, "-m", "repro", "table=1", "-m", "noise_seeds=1",
                            f"sweeps_root={ro}/sweeps", f"results_root={tmp_path}/results"],
                           cwd=ROOT, capture_output=True, text=True, timeout=120,
                           env={**os.environ, "REPRO_DATA_ROOT": str(DATA_ROOT)})
    _assert_clean_refusal(r, tmp_path, f"sweeps_root={ro}/sweeps: cannot write under {ro}",
                          "Read-only file system")


def test_a_dataset_folder_this_user_cannot_read(tmp_path, paper_files):
    jpegs = paper_files / "VOC2012" / "JPEGImages"
    # Root reads every folder whatever its mode (CI runs as root): the pre-flight then
    # runs as root without the two capabilities that bypass read and search permissions,
    # so the folder's mode applies as to any user. (Another uid cannot run the venv here:
    # its interpreter lives under /root, mode 0700.)
    as_user = ([] if os.geteuid() != 0 else
               ["setpriv", "--bounding-set=-dac_override,-dac_read_search"])
    jpegs.chmod(0)
    try:
        r = subprocess.run([*as_user, sys.executable, "-m", "repro", "table=1", "-m",
                            "profile=paper", f"profile.data_root={tmp_path}/d",
                            "cells=[w1.00-1.00__voc_*]", "hydra/launcher=slurm", "noise_seeds=1",
                            f"profile.pretrained.resnet50={tmp_path}/w/r50.pth",
                            f"sweeps_root={tmp_path}/sweeps", f"results_root={tmp_path}/results"],
                           cwd=ROOT, capture_output=True, text=True, timeout=120,
                           env={**os.environ, "REPRO_DATA_ROOT": str(DATA_ROOT)})
    finally:
        jpegs.chmod(0o755)
    _assert_clean_refusal(r, tmp_path, f"VOC VOC2012: {jpegs} cannot be read by this user "
                          f"(permission denied): `chmod -R a+rX {jpegs}` or ask its owner")
    assert len(r.stderr.strip().splitlines()) == 1, r.stderr


@pytest.mark.parametrize("table, cell, override, needle", [
    ("1", "w1.00-1.00__voc_sgd_l1", "profile.iters=abc",
     "profile.iters='abc' must be a whole number >= 1"),
    ("1", "w1.00-1.00__voc_sgd_l1", "optimizer.lr=-0.1",
     "optimizer.lr=-0.1 must be a positive number"),
    ("2", "retinanet_r50_alwa1__l1", "++balancer.lambda0=0",
     "balancer.lambda0=0 must be a positive number"),  # the balancer rule's own check
])
def test_a_bad_value_is_refused_when_every_selected_cell_is_done(repro, table, cell, override,
                                                                 needle):
    from repro.core import records
    from repro.sweep.expand import expand
    from repro.table.spec import load_table

    [job] = expand(load_table(table), profile="smoke", sweeps_root=repro.tmp_path / "sweeps",
                   seeds=1, cells=[cell], user_overrides=[], noise_seeds=1)
    records.write_json(job.run_dir / records.STATUS, {"state": "done", "seconds": 3.0})
    records.write_json(job.run_dir / records.METRICS, {"metric": "mAP", "value": 50.0})
    files = sorted(p.relative_to(job.run_dir) for p in job.run_dir.rglob("*"))
    args = (f"table={table}", "-m", f"cells=[{cell}]", "report=false")
    nothing = repro(*args)  # the cell is done: nothing runs
    assert nothing.returncode == 0, nothing.stderr[-2000:]
    assert "0 to run" in nothing.stdout, nothing.stdout
    refused = repro(*args, override)
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert "Traceback" not in refused.stderr
    assert f"table {table}, cell {cell}: {needle}" in refused.stderr, refused.stderr
    assert sorted(p.relative_to(job.run_dir) for p in job.run_dir.rglob("*")) == files
    assert not (repro.tmp_path / "results").exists()  # nothing written
