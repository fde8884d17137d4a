"""The smoke profile's stand-in for an ImageNet-pretrained backbone.

The paper fine-tunes a ResNet pretrained on ImageNet; a detector trained from scratch
for a few hundred CPU iterations is a different regime, and a noisy one (issue 11: the
Table 1 baseline cell moved 5-9 mAP from seed to seed). This module pretrains the smoke
profile's narrow ResNet once per (depth, width) on a classification task made from the
same generator as the synthetic datasets, in its own random stream (no image of a
detection split is ever seen): the shape of the one object in a scene, among the six
shapes, with the clutter, noise and random colours of the detection images (object-
centric, like ImageNet; a multi-label "which shapes are here" task learned nothing in
the same 400 steps, docs/benchmarks.md).

The weights are saved as an mmdet ResNet state dict, the same keys as a torchvision
checkpoint, and the smoke profile loads them through MMDetection's own pretrained path
(`init_cfg=dict(type="Pretrained", checkpoint=...)`), exactly as the paper profile
loads `resnet50-0676ba61.pth`. Deterministic for a given machine (fixed seed, fixed
thread count) and cached under the data root like the datasets: the first cell that
needs one trains it (about half a minute on one core, `docs/benchmarks.md`) while other
processes wait on a lock, and every later cell loads it.
"""
from __future__ import annotations

import fcntl
import json
import os
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from repro.data.synthetic import SHAPES, SyntheticSpec, render_image

# Bump when the pretraining below changes its output: the file name carries it.
VERSION = 1

# Scenes for the classification task: one object of any shape, colour random (only the
# shape tells the class), the detection sets' size range, clutter and noise. Own seed.
PRETRAIN_SCENES = SyntheticSpec(
    layout="classification", classes=SHAPES, image_size=64, n_train=4096, n_test=0,
    objects_per_image=(1, 1), object_size=(16, 56), clutter_strokes=3, noise_std=12.0,
    seed=1000, hue_jitter=None)


@dataclass(frozen=True)
class PretrainRecipe:
    """How the stand-in is trained (all of it goes into the cache key)."""
    steps: int = 400
    batch: int = 32
    lr: float = 0.003         # AdamW, one-cycle schedule peaking here
    weight_decay: float = 0.05
    threads: int = 1          # fixed, so the weights do not depend on the machine's cores
    seed: int = 0


def stand_in_path(data_root: str | os.PathLike, depth: int, base_channels: int,
                  recipe: PretrainRecipe = PretrainRecipe()) -> Path:
    return (Path(data_root) / "stand-in-backbones"
            / f"resnet{depth}-w{base_channels}-s{recipe.steps}-v{VERSION}.pth")


@dataclass(frozen=True)
class StandIn:
    """Which stand-in a smoke model loads: where it is cached, its shape, its recipe.
    A config carries it as a plain dict (`mm.stand_in_backbone`, repro/job/profile_scale.py)
    and the runner ensures the file from it (repro/job/train.py)."""
    data_root: str
    depth: int
    base_channels: int
    recipe: PretrainRecipe = PretrainRecipe()

    @property
    def path(self) -> Path:
        return stand_in_path(self.data_root, self.depth, self.base_channels, self.recipe)

    def as_config(self) -> dict:
        return asdict(self)

    @classmethod
    def from_config(cls, d) -> "StandIn":
        return cls(data_root=str(d["data_root"]), depth=int(d["depth"]),
                   base_channels=int(d["base_channels"]), recipe=PretrainRecipe(**d["recipe"]))

    def ensure(self) -> Path:
        return ensure_stand_in(self.data_root, self.depth, self.base_channels, self.recipe)


def _scenes(spec: SyntheticSpec) -> tuple[np.ndarray, np.ndarray]:
    """(N, 3, H, W) uint8 images and (N,) the shape of each image's object."""
    rng = np.random.default_rng(spec.seed)
    images = np.empty((spec.n_train, 3, spec.image_size, spec.image_size), dtype=np.uint8)
    labels = np.zeros(spec.n_train, dtype=np.int64)
    i = 0
    while i < spec.n_train:
        img, objects = render_image(spec, rng)
        if objects:  # a scene whose object found no room is drawn again
            images[i], labels[i] = np.asarray(img).transpose(2, 0, 1), objects[0][0]
            i += 1
    return images, labels


def pretrain(depth: int, base_channels: int, recipe: PretrainRecipe = PretrainRecipe()):
    """Train the backbone on the shape task; returns (state_dict, training accuracy)."""
    import torch
    from mmdet.registry import MODELS
    from mmdet.utils import register_all_modules

    register_all_modules(init_default_scope=False)
    threads = torch.get_num_threads()
    torch.set_num_threads(recipe.threads)
    try:
        torch.manual_seed(recipe.seed)
        # norm_eval=False: BN learns its statistics here (mmdet's ResNet defaults to
        # norm_eval=True, which keeps BN frozen in train mode: for fine-tuning only).
        backbone = MODELS.build(dict(type="mmdet.ResNet", depth=depth,
                                     base_channels=base_channels, out_indices=(3,),
                                     norm_cfg=dict(type="BN", requires_grad=True),
                                     norm_eval=False))
        # PyTorch's default initialisation of the layers, not mmdet's init_weights
        # (Kaiming fan-out, zero-initialised residual BN): with it the same 400 steps
        # reached 49% training accuracy instead of 79% (docs/benchmarks.md).
        width = base_channels * 8 * (1 if depth in (18, 34) else 4)
        head = torch.nn.Linear(width, len(SHAPES))
        images, labels = _scenes(PRETRAIN_SCENES)
        # The detectors' own normalisation (mmdet's data preprocessor: ImageNet mean/std).
        mean = torch.tensor([123.675, 116.28, 103.53]).view(1, 3, 1, 1)
        std = torch.tensor([58.395, 57.12, 57.375]).view(1, 3, 1, 1)
        params = [*backbone.parameters(), *head.parameters()]
        opt = torch.optim.AdamW(params, lr=recipe.lr, weight_decay=recipe.weight_decay)
        sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=recipe.lr, total_steps=recipe.steps)
        gen = torch.Generator().manual_seed(recipe.seed)
        x_all, y_all = torch.from_numpy(images), torch.from_numpy(labels)
        backbone.train()
        correct = seen = 0
        for step in range(recipe.steps):
            idx = torch.randint(len(x_all), (recipe.batch,), generator=gen)
            x = (x_all[idx].float() - mean) / std
            if torch.rand((), generator=gen) < 0.5:  # the detectors' RandomFlip
                x = x.flip(3)
            logits = head(backbone(x)[-1].mean((2, 3)))
            loss = torch.nn.functional.cross_entropy(logits, y_all[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            if step >= recipe.steps - 50:  # training accuracy over the last 50 steps
                correct += int((logits.argmax(1) == y_all[idx]).sum())
                seen += recipe.batch
        return backbone.state_dict(), correct / max(seen, 1)
    finally:
        torch.set_num_threads(threads)


def ensure_stand_in(data_root: str | os.PathLike, depth: int, base_channels: int,
                    recipe: PretrainRecipe = PretrainRecipe()) -> Path:
    """The cached stand-in checkpoint, trained on first use (one process trains, any
    other waits on the lock and then loads the file)."""
    final = stand_in_path(data_root, depth, base_channels, recipe)
    if final.is_file():
        return final
    final.parent.mkdir(parents=True, exist_ok=True)
    with open(final.parent / f".{final.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if final.is_file():  # another process trained it while this one waited
            return final
        import torch

        state, accuracy = pretrain(depth, base_channels, recipe)
        meta = {"depth": depth, "base_channels": base_channels, "version": VERSION,
                "recipe": asdict(recipe), "task": "shape of the one object (6 shapes)",
                "train_accuracy_last_50_steps": accuracy}
        fd, tmp = tempfile.mkstemp(prefix=f".{final.name}.", dir=final.parent)
        os.close(fd)
        torch.save({"state_dict": state, "meta": meta}, tmp)
        os.replace(tmp, final)
        final.with_suffix(".json").write_text(json.dumps(meta, indent=2) + "\n")
    return final
