"""The embedded default dataset: coloured shapes on cluttered backgrounds.

A CPU-sized stand-in for the papers' datasets, generated deterministically on first use
(no download). The class of an object is its *shape*; its colour is random, so a
detector cannot solve the task from colour alone. Backgrounds carry low-frequency
shading, pixel noise and unannotated clutter strokes, which give false positives to
suppress, so the smoke Faster R-CNN stays far from saturation and loss weights can
move it (issue 2: VOC mAP between 0.3 and 0.8).

Two layouts, written from the same generator with different specs:
- VOC (``VOC2012/`` trainval for training, ``VOC2007/`` test for testing: the split of
  the authors' released configs, methods.md section 1; plus a ``VOC2007/`` trainval half
  the size of VOC2012's for MMDetection's stock VOC07+12 split, ``dataset=voc0712``),
  read by mmdet's VOCDataset.
- COCO (``train2017/``, ``val2017/``, ``annotations/instances_*2017.json``), read by
  mmdet's CocoDataset and scored with COCO AP. More classes, smaller objects.

Pure numpy + PIL: nothing here imports torch or mmdet.
"""
from __future__ import annotations

import json
import math
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

# Bump when the generator's output changes: the folder name carries it, so an old
# cache is never mistaken for the new one.
# 2: COCO annotations carry instance masks (images unchanged). 3: VOC2007 trainval too
# (for the VOC07+12 reading); the v2 images and annotations are unchanged. 4: four times
# the training images and three times the test images (issue 11: a 96-image test split
# alone moved the smoke baseline by about 1 mAP from seed to seed; docs/benchmarks.md).
GENERATOR_VERSION = 4

SHAPES = ("circle", "square", "triangle", "cross", "ring", "diamond")


@dataclass(frozen=True)
class SyntheticSpec:
    layout: str  # "voc" or "coco"
    classes: tuple[str, ...]
    image_size: int
    n_train: int
    n_test: int
    objects_per_image: tuple[int, int]
    object_size: tuple[int, int]
    clutter_strokes: int
    noise_std: float
    seed: int
    # Each class gets its own hue, jittered by this much (fraction of the colour
    # wheel); None: colours are random and only the shape tells the class.
    hue_jitter: float | None = 0.05

    @property
    def folder_name(self) -> str:
        return f"synthetic-{self.layout}-v{GENERATOR_VERSION}"


VOC_SPEC = SyntheticSpec(
    layout="voc", classes=("circle", "square", "triangle", "cross"), image_size=64,
    n_train=768, n_test=288, objects_per_image=(1, 2), object_size=(24, 56),
    clutter_strokes=2, noise_std=10.0, seed=2007)

COCO_SPEC = SyntheticSpec(
    layout="coco", classes=SHAPES, image_size=64, n_train=768, n_test=288,
    objects_per_image=(1, 3), object_size=(16, 56), clutter_strokes=3,
    noise_std=12.0, seed=2017)

SPECS = {"voc": VOC_SPEC, "coco": COCO_SPEC}


def _background(rng: np.random.Generator, size: int, noise_std: float) -> np.ndarray:
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size
    base = rng.uniform(40, 200, size=3)
    tilt = rng.uniform(-60, 60, size=(2, 3))
    img = base + xx[..., None] * tilt[0] + yy[..., None] * tilt[1]
    img += rng.normal(0, noise_std, size=(size, size, 3))
    return np.clip(img, 0, 255).astype(np.uint8)


def _colour(rng: np.random.Generator, avoid: np.ndarray) -> tuple[int, int, int]:
    # Keep objects visible: at least some contrast against the local background.
    for _ in range(20):
        c = rng.integers(0, 256, size=3)
        if np.abs(c.astype(int) - avoid.astype(int)).sum() > 120:
            break
    return tuple(int(v) for v in c)


def _class_colour(rng: np.random.Generator, label: int, n_classes: int, jitter: float):
    import colorsys

    hue = (label / n_classes + rng.uniform(-jitter, jitter)) % 1.0
    r, g, b = colorsys.hsv_to_rgb(hue, rng.uniform(0.55, 1.0), rng.uniform(0.55, 1.0))
    return int(r * 255), int(g * 255), int(b * 255)


def _draw_shape(draw: ImageDraw.ImageDraw, shape: str, box, fill) -> None:
    x0, y0, x1, y1 = box
    cx, cy, w, h = (x0 + x1) / 2, (y0 + y1) / 2, x1 - x0, y1 - y0
    if shape == "circle":
        draw.ellipse(box, fill=fill)
    elif shape == "square":
        draw.rectangle(box, fill=fill)
    elif shape == "triangle":
        draw.polygon([(cx, y0), (x1, y1), (x0, y1)], fill=fill)
    elif shape == "cross":
        draw.rectangle((x0, cy - h / 6, x1, cy + h / 6), fill=fill)
        draw.rectangle((cx - w / 6, y0, cx + w / 6, y1), fill=fill)
    elif shape == "ring":
        draw.ellipse(box, outline=fill, width=max(2, int(min(w, h) / 5)))
    elif shape == "diamond":
        draw.polygon([(cx, y0), (x1, cy), (cx, y1), (x0, cy)], fill=fill)
    else:  # pragma: no cover - SHAPES is closed
        raise ValueError(shape)


def _iou(a, b) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def _visible_masks(spec: SyntheticSpec, objects) -> list[np.ndarray]:
    """Each object's pixels as drawn, minus what objects drawn after it cover."""
    size = spec.image_size
    masks = []
    for label, box in objects:
        canvas = Image.new("L", (size, size), 0)
        _draw_shape(ImageDraw.Draw(canvas), spec.classes[label], box, 255)
        masks.append(np.asarray(canvas) > 0)
    covered = np.zeros((size, size), dtype=bool)
    for i in reversed(range(len(masks))):
        masks[i] = masks[i] & ~covered
        covered |= masks[i]
    return masks


def render_image(spec: SyntheticSpec, rng: np.random.Generator):
    """One image and its objects as (class_index, (x0, y0, x1, y1)) in pixels."""
    size = spec.image_size
    img = Image.fromarray(_background(rng, size, spec.noise_std))
    draw = ImageDraw.Draw(img)
    for _ in range(spec.clutter_strokes):  # unannotated distractors
        pts = [tuple(rng.uniform(0, size, size=2)) for _ in range(3)]
        draw.line(pts, fill=_colour(rng, np.zeros(3)), width=int(rng.integers(1, 4)))
    objects: list[tuple[int, tuple[float, float, float, float]]] = []
    for _ in range(int(rng.integers(spec.objects_per_image[0], spec.objects_per_image[1] + 1))):
        for _attempt in range(10):
            s = rng.uniform(*spec.object_size)
            aspect = math.exp(rng.uniform(-0.4, 0.4))
            w, h = min(s * aspect, size - 2), min(s / aspect, size - 2)
            x0, y0 = rng.uniform(0, size - w), rng.uniform(0, size - h)
            box = (x0, y0, x0 + w, y0 + h)
            if all(_iou(box, b) < 0.3 for _, b in objects):
                break
        else:
            continue
        label = int(rng.integers(len(spec.classes)))
        if spec.hue_jitter is None:
            local = np.asarray(img)[int(y0):int(y0 + h) + 1, int(x0):int(x0 + w) + 1].reshape(-1, 3).mean(0)
            colour = _colour(rng, local)
        else:
            colour = _class_colour(rng, label, len(spec.classes), spec.hue_jitter)
        _draw_shape(draw, spec.classes[label], box, colour)
        objects.append((label, box))
    return img, objects


def _voc_xml(image_id: str, size: int, objects, classes) -> str:
    objs = "".join(
        f"<object><name>{classes[label]}</name><difficult>0</difficult><bndbox>"
        # VOC boxes are 1-based inclusive integers; mmdet subtracts 1 when reading.
        f"<xmin>{int(round(b[0])) + 1}</xmin><ymin>{int(round(b[1])) + 1}</ymin>"
        f"<xmax>{int(round(b[2]))}</xmax><ymax>{int(round(b[3]))}</ymax></bndbox></object>"
        for label, b in objects)
    return (f"<annotation><filename>{image_id}.jpg</filename><size><width>{size}</width>"
            f"<height>{size}</height><depth>3</depth></size>{objs}</annotation>")


def _write_voc_split(spec: SyntheticSpec, root: Path, sub: str, prefix: str, n: int,
                     listing: str, rng: np.random.Generator) -> None:
    for d in ("JPEGImages", "Annotations", "ImageSets/Main"):
        (root / sub / d).mkdir(parents=True, exist_ok=True)
    ids = []
    for i in range(n):
        image_id = f"{prefix}_{i:05d}"
        img, objects = render_image(spec, rng)
        img.save(root / sub / "JPEGImages" / f"{image_id}.jpg", quality=95)
        (root / sub / "Annotations" / f"{image_id}.xml").write_text(
            _voc_xml(image_id, spec.image_size, objects, spec.classes))
        ids.append(image_id)
    (root / sub / "ImageSets/Main" / f"{listing}.txt").write_text("\n".join(ids) + "\n")


def _write_voc(spec: SyntheticSpec, root: Path, rng: np.random.Generator) -> None:
    _write_voc_split(spec, root, "VOC2012", "train", spec.n_train, "trainval", rng)
    _write_voc_split(spec, root, "VOC2007", "test", spec.n_test, "test", rng)
    # VOC2007 trainval (v3) from its own stream, so the v2 images above stay identical.
    _write_voc_split(spec, root, "VOC2007", "train07", spec.n_train // 2, "trainval",
                     np.random.default_rng(spec.seed + 1))


def _write_coco_split(spec: SyntheticSpec, root: Path, split: str, n: int,
                      rng: np.random.Generator) -> None:
    from pycocotools import mask as coco_mask  # RLE, as COCO stores instance masks

    (root / "annotations").mkdir(parents=True, exist_ok=True)
    categories = [{"id": i + 1, "name": c} for i, c in enumerate(spec.classes)]
    (root / split).mkdir(parents=True, exist_ok=True)
    images, annotations = [], []
    for i in range(n):
        img, objects = render_image(spec, rng)
        file_name = f"{i:012d}.jpg"
        img.save(root / split / file_name, quality=95)
        images.append({"id": i + 1, "file_name": file_name,
                       "width": spec.image_size, "height": spec.image_size})
        for (label, (x0, y0, x1, y1)), mask in zip(objects, _visible_masks(spec, objects)):
            rle = coco_mask.encode(np.asfortranarray(mask.astype(np.uint8)))
            annotations.append({
                "id": len(annotations) + 1, "image_id": i + 1, "category_id": label + 1,
                "bbox": [round(x0, 2), round(y0, 2), round(x1 - x0, 2), round(y1 - y0, 2)],
                "segmentation": {"size": rle["size"], "counts": rle["counts"].decode()},
                "area": int(mask.sum()), "iscrowd": 0})
    (root / "annotations" / f"instances_{split}.json").write_text(json.dumps({
        "info": {"description": f"repro synthetic COCO stand-in v{GENERATOR_VERSION}"},
        "licenses": [], "images": images, "annotations": annotations,
        "categories": categories}))


def _write_coco(spec: SyntheticSpec, root: Path, rng: np.random.Generator) -> None:
    for split, n in (("train2017", spec.n_train), ("val2017", spec.n_test)):
        _write_coco_split(spec, root, split, n, rng)


# Where each layout keeps its test split, written alone by write_test_split.
_TEST_SPLIT = {"voc": lambda spec, root, n, rng: _write_voc_split(
                   spec, root, "VOC2007", "test", n, "test", rng),
               "coco": lambda spec, root, n, rng: _write_coco_split(
                   spec, root, "val2017", n, rng)}


def write_test_split(layout: str, n: int, data_root: str | os.PathLike, seed: int) -> Path:
    """A test split of `n` images from the same generator as the dataset's own, drawn
    with another `seed`, in the layout's test folders under data_root (no training
    split): the noise benchmark's larger test set (scripts/benchmark_noise.py
    --test-split). Returns the dataset folder, as ensure_dataset does."""
    spec = SPECS[layout]
    final = Path(data_root) / spec.folder_name
    if (final / "DONE").exists():
        return final
    final.mkdir(parents=True, exist_ok=True)
    _TEST_SPLIT[layout](spec, final, n, np.random.default_rng(seed))
    (final / "DONE").write_text(json.dumps({"classes": spec.classes, "test_only": n}) + "\n")
    return final


def ensure_dataset(layout: str, data_root: str | os.PathLike) -> Path:
    """Return the folder of the synthetic dataset in ``layout``, generating it once.

    Safe under concurrent first use (several jobs of a sweep, SLURM array tasks): each
    writer generates into a private temporary folder and renames it into place; the
    first rename wins and the others discard their copy, which is identical.
    """
    spec = SPECS[layout]
    final = Path(data_root) / spec.folder_name
    if (final / "DONE").exists():
        return final
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{spec.folder_name}-", dir=final.parent))
    try:
        rng = np.random.default_rng(spec.seed)
        (_write_voc if layout == "voc" else _write_coco)(spec, tmp, rng)
        (tmp / "DONE").write_text(json.dumps({"classes": spec.classes}) + "\n")
        try:
            os.rename(tmp, final)
        except OSError:
            if not (final / "DONE").exists():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return final
