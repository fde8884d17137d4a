"""python -m repro.doctor [table=1] [profile=paper] [sweeps_root=sweeps] [overrides ...]

Checks this machine for a table under the paper profile before a launch, one line per
finding, each with its fix: torch; CUDA and mmcv's compiled ops (NMS and RoIAlign run on
a CUDA tensor; on a CPU-only machine it says so and runs the CPU ops); NCCL; the GPUs
the profile asks for; each dataset the table uses, its image and annotation counts
against the real ones (conf/dataset/*: VOC2012 trainval 11,540, VOC2007 test 4,952,
COCO train2017 118,287, val2017 5,000); the pretrained-weights files (the hash prefix
in torchvision's file names checked against the file's sha256); free disk for the
table's checkpoints, against `python -m repro.plan`'s Disk figure for the table (its
launcher=, seeds=, cells=, keep_weights= are passed to the plan). Overrides are the main command's (profile.data_root=...,
profile.pretrained.resnet50=..., profile.gpus=2). Exit 1 on a blocking finding (FAIL),
0 otherwise; 2 on a bad argument.
"""
from __future__ import annotations

import hashlib
import json
import re
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from repro.core.errors import ReproError
from repro.core.paths import CONF_DIR, project_path

GROUPS = ("detector", "dataset")
# python -m repro.plan's arguments that change the table's disk figure (launcher: how
# many runs train at once); passed to the plan, not to the config.
PLAN_KEYS = ("launcher", "seeds", "cells", "keep_weights")
HASHED = re.compile(r"-([0-9a-f]{8,64})\.pth$")


@dataclass(frozen=True)
class Finding:
    level: str  # ok, note, FAIL (blocking)
    what: str
    detail: str
    fix: str = ""

    def line(self) -> str:
        return f"{self.level:<4} {self.what}: {self.detail}" + (f" -- fix: {self.fix}" if self.fix else "")


def _compose(overrides: list[str]):
    from hydra import compose, initialize_config_dir

    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        return compose("config", overrides=overrides)


def table_choices(table: str) -> dict[str, set[str]]:
    """The dataset and detector entries the table's cells use."""
    import yaml

    from repro.table.spec import load_table

    spec = load_table(table)
    defaults = {k: v for item in yaml.safe_load((CONF_DIR / "config.yaml").read_text())["defaults"]
                if isinstance(item, dict) for k, v in item.items()}
    out: dict[str, set[str]] = {g: set() for g in GROUPS}
    for cell in spec.cells():
        sets = {**spec.fixed, **cell.column.set, **cell.row.set}
        for g in GROUPS:
            out[g].add(str(sets.get(g, defaults[g])))
    return out


# -- torch, CUDA, mmcv's ops, NCCL, GPUs -------------------------------------------------

def check_torch(profile) -> list[Finding]:
    import torch

    out = [Finding("ok", "torch", f"{torch.__version__}")]
    cuda = torch.cuda.is_available()
    wants = profile.get("device") == "cuda"
    if cuda:
        out.append(Finding("ok", "CUDA", f"{torch.version.cuda}, {torch.cuda.device_count()} "
                                         f"GPU(s): {torch.cuda.get_device_name(0)}"))
    else:
        out.append(Finding("FAIL" if wants else "note", "CUDA",
                           f"torch sees no CUDA device (torch built for CUDA "
                           f"{torch.version.cuda or 'none'}); the profile asks for "
                           f"device={profile.get('device')}",
                           "run on a GPU node (e.g. srun --gres=gpu:1 python -m repro.doctor), "
                           "install a CUDA build of torch, or rehearse on the CPU: "
                           "python -m repro table=1 -m profile=paper rehearse=true" if wants else ""))
    out += check_mmcv_ops("cuda" if cuda else "cpu")
    gpus = int(profile.get("gpus") or 0)
    if wants and gpus > 1:
        import torch.distributed as dist

        if dist.is_nccl_available() and cuda:
            out.append(Finding("ok", "NCCL", f"{'.'.join(map(str, torch.cuda.nccl.version()))}"))
        else:
            out.append(Finding("FAIL", "NCCL", f"not available (profile.gpus={gpus} trains "
                                               f"with NCCL)",
                               "install a CUDA build of torch with NCCL"))
    elif gpus > 1:
        import torch.distributed as dist

        out.append(Finding("ok" if dist.is_gloo_available() else "FAIL", "gloo",
                           f"{'available' if dist.is_gloo_available() else 'missing'} for "
                           f"{gpus} CPU processes"))
    if wants:
        have = torch.cuda.device_count() if cuda else 0
        out.append(Finding("ok" if have >= gpus else "FAIL", "GPUs",
                           f"the profile asks for {gpus} per cell; this machine has {have}",
                           "" if have >= gpus else
                           f"run on a node with {gpus} GPUs (hydra/launcher=slurm asks SLURM for "
                           f"them), or set profile.gpus={have or 1} (the LR scales linearly)"))
    return out


def check_mmcv_ops(device: str) -> list[Finding]:
    try:
        import torch
        from mmcv.ops import RoIAlign, nms

        boxes = torch.tensor([[0., 0., 10., 10.], [1., 1., 11., 11.], [50., 50., 60., 60.]],
                             device=device)
        scores = torch.tensor([0.9, 0.8, 0.7], device=device)
        _, keep = nms(boxes, scores, 0.5)
        feats = torch.arange(2 * 16 * 16, dtype=torch.float32, device=device).reshape(1, 2, 16, 16)
        rois = torch.tensor([[0., 2., 2., 10., 10.]], device=device)
        pooled = RoIAlign((2, 2), spatial_scale=1.0, sampling_ratio=2)(feats, rois)
        ok = sorted(keep.tolist()) == [0, 2] and tuple(pooled.shape) == (1, 2, 2, 2)
    except Exception as e:  # noqa: BLE001 - any failure of the compiled ops is the finding
        return [Finding("FAIL", f"mmcv ops ({device})", f"{type(e).__name__}: {e}",
                        "install mmcv built for this torch and CUDA "
                        "(mim install 'mmcv==2.1.0'; scripts/setup.sh builds it)")]
    where = "on a CUDA tensor" if device == "cuda" else \
        "on a CPU tensor (no CUDA here: the CUDA kernels are not checked)"
    return [Finding("ok" if ok else "FAIL", "mmcv ops", f"NMS and RoIAlign ran {where}"
                    + ("" if ok else ", with wrong results"),
                    "" if ok else "reinstall mmcv for this torch")]


# -- datasets ---------------------------------------------------------------------------

def _count_voc(root: Path, year_split: str) -> tuple[int, int, int]:
    """(ids in the split file, JPEGs present, XMLs present)."""
    year, split = year_split.split("_")
    d = root / year
    ids_file = d / "ImageSets" / "Main" / f"{split}.txt"
    ids = [i.strip() for i in ids_file.read_text().split()] if ids_file.is_file() else []
    jpgs = sum((d / "JPEGImages" / f"{i}.jpg").is_file() for i in ids)
    xmls = sum((d / "Annotations" / f"{i}.xml").is_file() for i in ids)
    return len(ids), jpgs, xmls


def check_dataset(ds, data_root: Path) -> list[Finding]:
    root = data_root / ds.paper_path
    name = f"dataset {ds.name}"
    if not root.is_dir():
        return [Finding("FAIL", name, f"{root} does not exist",
                        f"unpack {ds.label} there, or set profile.data_root (env REPRO_DATA_ROOT) "
                        f"to the folder holding {ds.paper_path}/")]
    out = []
    for split, want in (ds.get("images") or {}).items():
        want_ann = (ds.get("annotations") or {}).get(split)
        if ds.family == "voc":
            n, jpgs, xmls = _count_voc(root, split)
            problems = [f"{n:,} ids in ImageSets/Main (real: {want:,})"] if n != want else []
            problems += [f"{n - jpgs:,} JPEGs missing"] if jpgs != n else []
            problems += [f"{n - xmls:,} annotation XMLs missing"] if xmls != n else []
            have = f"{n:,} images, {xmls:,} annotation files"
        else:
            ann_file = root / ds.ann_files[split]
            if not ann_file.is_file():
                out.append(Finding("FAIL", f"{name} {split}", f"{ann_file} is missing",
                                   f"unpack COCO's annotation zip into {root}/annotations"))
                continue
            data = json.loads(ann_file.read_text())
            images = data.get("images", [])
            present = sum((root / ds.image_dirs[split] / im["file_name"]).is_file() for im in images)
            anns = len(data.get("annotations", []))
            problems = [f"{len(images):,} images in {ann_file.name} (real: {want:,})"] \
                if len(images) != want else []
            problems += [f"{len(images) - present:,} JPEGs missing from "
                         f"{ds.image_dirs[split]}"] if present != len(images) else []
            if want_ann is not None and anns != want_ann:
                problems.append(f"{anns:,} annotations (real: {want_ann:,})")
            have = f"{len(images):,} images" + (f", {anns:,} annotations" if want_ann else "")
        if problems:
            out.append(Finding("FAIL", f"{name} {split}", "; ".join(problems),
                               f"a partial or different copy of {ds.label} at {root}: "
                               f"download and unpack it again"))
        else:
            out.append(Finding("ok", f"{name} {split}", f"{have}, as the real one"))
    return out


# -- weights, disk ----------------------------------------------------------------------

def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(1 << 20):
            h.update(block)
    return h.hexdigest()


def check_weights(backbone: str, path: str | None) -> Finding:
    what = f"weights {backbone}"
    if not path:
        return Finding("FAIL", what, "no entry in profile.pretrained",
                       f"add profile.pretrained.{backbone}=/path/to/file")
    p = project_path(path)
    if not p.is_file():
        return Finding("FAIL", what, f"{p} is missing",
                       f"copy the ImageNet checkpoint ({p.name}) there, or set "
                       f"profile.pretrained.{backbone}=/path/to/file (env REPRO_WEIGHTS_DIR)")
    m = HASHED.search(p.name)
    if not m:
        return Finding("note", what, f"{p} has no hash in its name (torchvision's "
                                     f"<name>-<sha256 prefix>.pth): not verified")
    digest = sha256(p)
    if not digest.startswith(m.group(1)):
        return Finding("FAIL", what, f"{p.name}: sha256 {digest[:len(m.group(1))]}... does not "
                                     f"match the name's {m.group(1)} (corrupt or truncated)",
                       "download the file again")
    return Finding("ok", what, f"{p} ({p.stat().st_size / 2**20:,.0f} MiB, sha256 prefix "
                               f"{m.group(1)} matches)")


def check_disk(sweeps_root: str, need, plan_command: str) -> Finding:
    """Free disk at sweeps_root against the plan's Disk figure for the table (`need`, a
    repro.commands.plan.Disk: one estimate, computed there)."""
    from repro.commands.plan import gb

    probe = project_path(sweeps_root)
    while not probe.exists():
        probe = probe.parent
    free_mb = shutil.disk_usage(probe).free / 1e6
    ok = free_mb >= need.peak_mb
    detail = (f"{gb(free_mb)} free at {probe}; the table needs {need.peak()} "
              f"(`{plan_command}`, its Disk line)")
    return Finding("ok" if ok else "FAIL", "disk", detail,
                   "" if ok else "free space, or point sweeps_root= at a larger disk")


def profile_name(overrides: list[str]) -> str:
    """The profile the overrides pick (the last profile=..., as Hydra takes it)."""
    return [o.split("=", 1)[1] for o in overrides if o.startswith("profile=")][-1]


def diagnose(table: str, overrides: list[str], sweeps_root: str,
             plan_args: dict | None = None) -> list[Finding]:
    """`plan_args`: python -m repro.plan's own arguments (launcher=, seeds=, cells=,
    keep_weights=), for the disk the table needs."""
    choices = table_choices(table)
    base = _compose([f"table='{table}'", *overrides])
    p = base.profile
    findings = check_torch(p)
    data_root = project_path(p.data_root)
    for name in sorted(choices["dataset"]):
        ds = _compose([f"table='{table}'", f"dataset={name}", *overrides]).dataset
        findings += check_dataset(ds, data_root)
    backbones = sorted({_compose([f"detector={d}"]).detector.backbone
                        for d in choices["detector"]})
    for b in backbones:
        findings.append(check_weights(b, (p.get("pretrained") or {}).get(b)))
    from repro.commands.plan import table_disk
    from repro.table.spec import load_table

    plan_args = {**(plan_args or {}), "table": table, "sweeps_root": sweeps_root,
                 "profile": profile_name(overrides)}
    need = table_disk(load_table(table), plan_args)
    command = "python -m repro.plan " + " ".join(f"{k}={v}" for k, v in plan_args.items())
    findings.append(check_disk(sweeps_root, need, command))
    return findings


def main(argv: list[str] | None = None) -> int:
    from repro.commands.args import fail

    argv = sys.argv[1:] if argv is None else argv
    if {"-h", "--help"}.intersection(argv):
        print(__doc__.strip())
        return 0
    table, sweeps_root, overrides, plan_args = "1", "sweeps", ["profile=paper"], {}
    for arg in argv:
        key, eq, value = arg.replace("hydra/launcher=", "launcher=", 1).partition("=")
        if not eq:
            return fail(ReproError(f"argument {arg!r}: give key=value, e.g. table=1 or "
                                   f"profile.data_root=/data"))
        if key == "table":
            table = value
        elif key == "sweeps_root":
            sweeps_root = value
        elif key in PLAN_KEYS:  # the plan's (the disk figure), not a config override
            plan_args[key] = value
        else:
            overrides.append(arg)
    try:
        from repro.table.spec import load_table

        load_table(table)
        findings = diagnose(table, overrides, sweeps_root, plan_args)
    except ReproError as e:
        return fail(e)
    except Exception as e:  # noqa: BLE001 - a Hydra override error: one line, exit 2
        if type(e).__module__.startswith(("hydra", "omegaconf")):
            return fail(ReproError(f"{str(e).splitlines()[0]} (overrides: {' '.join(overrides)})"))
        raise
    for f in findings:
        print(f.line())
    blocking = [f for f in findings if f.level == "FAIL"]
    print(f"{len(blocking)} blocking finding(s)" if blocking else "no blocking finding")
    return 1 if blocking else 0


if __name__ == "__main__":
    sys.exit(main())
