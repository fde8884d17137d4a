"""ImageNet-checkpoint files as the paper profile reads them, with random weights.

torchvision's ResNet-50/101 (``resnet50-<hash>.pth``: a plain state dict with the
classifier ``fc``; keys and shapes as torchvision's) and MMDetection's Res2Net-101
v1d 26w x 4s (``res2net101_v1d_26w_4s_mmdetv2-<hash>.pth``). The names follow
torchvision's scheme, where ``<hash>`` is the first 8 hex digits of the file's own
sha256 (what torch.hub checks, and the doctor too: repro/commands/doctor.py).

The weights are random but tame: He-initialised convolutions and BN statistics of 0/1,
with each residual block's last BN scale at 0.1, so that a 100-layer net's features
stay finite and a rehearsal's NaN means a real problem, not this file.
"""
from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

import torch

# name -> (torchvision-style file stem, builder arguments)
KINDS = {
    "resnet50": ("resnet50", dict(type="ResNet", depth=50)),
    "resnet101": ("resnet101", dict(type="ResNet", depth=101)),
    "res2net101": ("res2net101_v1d_26w_4s_mmdetv2",
                   dict(type="Res2Net", depth=101, scales=4, base_width=26)),
}


def sha256(path: Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def _state_dict(kind: str, seed: int) -> dict:
    from mmdet.registry import MODELS
    from mmdet.utils import register_all_modules

    register_all_modules(init_default_scope=False)
    torch.manual_seed(seed)
    net = MODELS.build(dict(KINDS[kind][1], init_cfg=None))
    for module in net.modules():
        if isinstance(module, torch.nn.Conv2d):
            torch.nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
    sd = {k: v.detach().clone() for k, v in net.state_dict().items()}
    for k in sd:  # the last BN of each residual block: a small scale
        if k.endswith("bn3.weight"):
            sd[k].fill_(0.1)
    if kind.startswith("resnet"):  # torchvision's classifier
        width = 2048
        sd["fc.weight"] = torch.randn(1000, width) * 0.01
        sd["fc.bias"] = torch.zeros(1000)
    return sd


def write_checkpoint(kind: str, folder: Path, seed: int = 0) -> Path:
    """Write `kind`'s file into `folder` under its torchvision-style hashed name."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, suffix=".part")
    os.close(fd)
    torch.save(_state_dict(kind, seed), tmp)
    final = folder / f"{KINDS[kind][0]}-{sha256(Path(tmp))[:8]}.pth"
    os.replace(tmp, final)
    return final


def write_checkpoints(folder: Path, kinds=tuple(KINDS)) -> dict[str, Path]:
    """Every backbone the paper profile names -> its file (profile.pretrained.<kind>)."""
    return {k: write_checkpoint(k, folder) for k in kinds}
