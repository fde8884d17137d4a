"""The paper profile's files, read before the first job: a dataset whose annotations do
not parse or whose split lists an image that is missing, a folder this user cannot read,
pretrained weights of another architecture, a sweeps_root that cannot be written.

Each check runs once per launch and path (cached), not once per cell: parsing COCO's
train annotations takes seconds, a VOC split's XML files a few more.
"""
from __future__ import annotations

import functools
import json
import os
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

from repro.core.errors import ReproError

# Residual blocks per stage, by pretrained-weights entry (profile.pretrained): what the
# backbone the detector builds expects to find in the file.
BLOCKS = {"resnet50": (3, 4, 6, 3), "resnet101": (3, 4, 23, 3), "res2net101": (3, 4, 23, 3)}


def readable(folder: Path, what: str) -> None:
    try:
        os.listdir(folder)
    except PermissionError:
        raise ReproError(f"{what}: {folder} cannot be read by this user (permission denied): "
                         f"`chmod -R a+rX {folder}` or ask its owner") from None


@functools.lru_cache(maxsize=None)
def check_voc_split(root: str, year: str, listing: str) -> None:
    """Every image of `<root>/<year>/ImageSets/Main/<listing>.txt` has its JPEG and an
    annotation XML that parses."""
    base = Path(root) / year
    for sub in ("ImageSets/Main", "JPEGImages", "Annotations"):
        if (base / sub).exists():
            readable(base / sub, f"VOC {year}")
    split = base / "ImageSets/Main" / f"{listing}.txt"
    ids = [line.split()[0] for line in split.read_text().splitlines() if line.strip()]
    images = set(os.listdir(base / "JPEGImages")) if (base / "JPEGImages").is_dir() else set()
    for i in ids:
        if f"{i}.jpg" not in images:
            raise ReproError(f"{split} lists image {i}, but {base / 'JPEGImages' / (i + '.jpg')} "
                             f"is missing: unpack the {year} tar again (or remove the id from "
                             f"the list)")
        xml = base / "Annotations" / f"{i}.xml"
        try:
            ET.parse(xml)
        except (OSError, ET.ParseError) as e:
            raise ReproError(f"annotation {xml} does not parse ({e}): unpack the {year} tar "
                             f"again") from None


@functools.lru_cache(maxsize=None)
def check_coco_split(root: str, ann: str, images: str) -> None:
    """`ann` parses and every image it lists is in `images`."""
    path, folder = Path(root) / ann, Path(root) / images
    readable(folder, "COCO")
    try:
        with open(path) as f:
            listed = [im["file_name"] for im in json.load(f)["images"]]
    except (ValueError, KeyError, TypeError) as e:
        raise ReproError(f"annotation file {path} does not parse as COCO JSON ({e}): "
                         f"download annotations_trainval2017.zip again") from None
    present = set(os.listdir(folder))
    missing = [name for name in listed if name not in present]
    if missing:
        raise ReproError(f"{path} lists {len(missing)} image(s) missing from {folder}, e.g. "
                         f"{missing[0]}: unpack the image zip there again")


@functools.lru_cache(maxsize=None)
def check_weights(path: str, backbone: str) -> None:
    """The file holds a state dict of the backbone's architecture (blocks per stage)."""
    import torch

    try:
        state = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
    except Exception as e:  # noqa: BLE001 - any unreadable file is the same user error
        raise ReproError(f"pretrained weights {path} do not load ({str(e).splitlines()[0]}): "
                         f"copy the checkpoint again") from None
    state = state.get("state_dict", state) if isinstance(state, dict) else {}
    found = []
    for stage in range(1, 5):
        blocks = {k.split(".")[k.split(".").index(f"layer{stage}") + 1] for k in state
                  if f"layer{stage}" in k.split(".")}
        found.append(len(blocks))
    want = BLOCKS.get(backbone)
    if want is not None and tuple(found) != want:
        raise ReproError(f"pretrained weights {path} are not {backbone}: their stages hold "
                         f"{tuple(found)} blocks, {backbone} has {want}. Point "
                         f"profile.pretrained.{backbone} at the {backbone} checkpoint")


@functools.lru_cache(maxsize=None)
def check_writable(folder: str) -> None:
    """A file can be created under `folder` (or the nearest folder above it that exists)."""
    here = Path(folder)
    while not here.exists() and here != here.parent:
        here = here.parent
    try:
        fd, probe = tempfile.mkstemp(prefix=".repro-write-test.", dir=here)
        os.close(fd)
        os.unlink(probe)
    except OSError as e:
        raise ReproError(f"sweeps_root={folder}: cannot write under {here} ({e.strerror}): "
                         f"set sweeps_root=<a writable folder>") from None
