"""Datasets in the exact on-disk layout of the papers' real ones, at real image sizes.

What the paper profile reads (conf/profile/paper.yaml, conf/dataset/*), written small:
- ``VOCdevkit/VOC2007`` and ``VOCdevkit/VOC2012``: ``JPEGImages/<id>.jpg``,
  ``Annotations/<id>.xml`` (PASCAL's XML: size, objects with name, pose, truncated,
  difficult, bndbox) and ``ImageSets/Main/{trainval,test}.txt``; images 500 x 375 and
  375 x 500, as most of VOC's are.
- ``coco/annotations/instances_{train,val}2017.json`` (COCO's JSON with the 80 real
  category ids, polygons and areas), ``coco/train2017/``, ``coco/val2017/`` JPEGs at
  640 x 480 and 480 x 640, and test-dev's ``image_info_test-dev2017.json`` with
  ``test2017/`` images.

Used by the rehearsal stage (`make rehearse`), the doctor's tests and
scripts/gpu_check.sh (which asks for 1000 x 600 images). Only the layout and the sizes
are real: the pictures are shaded rectangles on a gradient, and the counts are what the
caller asks for (the doctor's counts check tells them from the real ones).
Pure numpy + PIL, no torch or mmdet.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

VOC_CLASSES = ("aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat",
               "chair", "cow", "diningtable", "dog", "horse", "motorbike", "person",
               "pottedplant", "sheep", "sofa", "train", "tvmonitor")
COCO_CLASSES = (
    "person", "bicycle", "car", "motorcycle", "airplane", "bus", "train", "truck", "boat",
    "traffic light", "fire hydrant", "stop sign", "parking meter", "bench", "bird", "cat",
    "dog", "horse", "sheep", "cow", "elephant", "bear", "zebra", "giraffe", "backpack",
    "umbrella", "handbag", "tie", "suitcase", "frisbee", "skis", "snowboard", "sports ball",
    "kite", "baseball bat", "baseball glove", "skateboard", "surfboard", "tennis racket",
    "bottle", "wine glass", "cup", "fork", "knife", "spoon", "bowl", "banana", "apple",
    "sandwich", "orange", "broccoli", "carrot", "hot dog", "pizza", "donut", "cake", "chair",
    "couch", "potted plant", "bed", "dining table", "toilet", "tv", "laptop", "mouse",
    "remote", "keyboard", "cell phone", "microwave", "oven", "toaster", "sink",
    "refrigerator", "book", "clock", "vase", "scissors", "teddy bear", "hair drier",
    "toothbrush")
# COCO's category ids run 1..90 with ten unused.
COCO_IDS = tuple(i for i in range(1, 91) if i not in (12, 26, 29, 30, 45, 66, 68, 69, 71, 83))
VOC_SIZES = ((500, 375), (375, 500))
COCO_SIZES = ((640, 480), (480, 640))


def _picture(rng: np.random.Generator, size: tuple[int, int], boxes) -> Image.Image:
    w, h = size
    ramp = np.linspace(0, 1, w)[None, :, None] * np.linspace(0.5, 1, h)[:, None, None]
    base = (ramp * rng.uniform(60, 200, 3)).astype(np.uint8)
    img = Image.fromarray(np.ascontiguousarray(np.broadcast_to(base, (h, w, 3))))
    draw = ImageDraw.Draw(img)
    for x0, y0, x1, y1 in boxes:
        draw.rectangle([x0, y0, x1, y1], fill=tuple(int(c) for c in rng.integers(0, 255, 3)))
    return img


def _boxes(rng: np.random.Generator, size: tuple[int, int], n: int) -> list[tuple[int, ...]]:
    """n boxes of 25-60% of the short side: above every shipped config's size filters."""
    w, h = size
    out = []
    for _ in range(n):
        bw, bh = (int(rng.uniform(0.25, 0.6) * min(w, h)) for _ in range(2))
        x0, y0 = int(rng.integers(0, w - bw)), int(rng.integers(0, h - bh))
        out.append((x0, y0, x0 + bw, y0 + bh))
    return out


def _voc_xml(year: str, name: str, size, objects) -> str:
    objs = "".join(
        f"<object><name>{c}</name><pose>Unspecified</pose><truncated>0</truncated>"
        f"<difficult>0</difficult><bndbox><xmin>{x0 + 1}</xmin><ymin>{y0 + 1}</ymin>"
        f"<xmax>{x1}</xmax><ymax>{y1}</ymax></bndbox></object>" for c, (x0, y0, x1, y1) in objects)
    return (f"<annotation><folder>VOC{year}</folder><filename>{name}.jpg</filename>"
            f"<source><database>The VOC{year} Database</database></source><size>"
            f"<width>{size[0]}</width><height>{size[1]}</height><depth>3</depth></size>"
            f"<segmented>0</segmented>{objs}</annotation>\n")


def write_voc(root: Path, counts: dict | None = None, sizes=VOC_SIZES, seed: int = 0) -> Path:
    """``root/VOCdevkit``; counts: {(year, split): n}, e.g. {("2012", "trainval"): 4}."""
    counts = counts or {("2012", "trainval"): 4, ("2007", "trainval"): 2, ("2007", "test"): 2}
    rng = np.random.default_rng(seed)
    devkit = Path(root) / "VOCdevkit"
    for (year, split), n in counts.items():
        d = devkit / f"VOC{year}"
        for sub in ("JPEGImages", "Annotations", "ImageSets/Main"):
            (d / sub).mkdir(parents=True, exist_ok=True)
        # VOC's own id styles: 2012's "2008_000123", 2007's "000123" (test after trainval)
        first = 1 + (500000 if split == "test" else 0)
        ids = [f"2008_{first + i:06d}" if year == "2012" else f"{first + i:06d}"
               for i in range(n)]
        for k, name in enumerate(ids):
            size = sizes[k % len(sizes)]
            boxes = _boxes(rng, size, 1 + k % 3)
            objects = [(VOC_CLASSES[int(rng.integers(len(VOC_CLASSES)))], b) for b in boxes]
            _picture(rng, size, boxes).save(d / "JPEGImages" / f"{name}.jpg", quality=90)
            (d / "Annotations" / f"{name}.xml").write_text(_voc_xml(year, name, size, objects))
        (d / "ImageSets/Main" / f"{split}.txt").write_text("".join(f"{i}\n" for i in ids))
    return devkit


def _coco_split(rng, folder: Path, n: int, first_id: int, sizes, annotated: bool) -> dict:
    folder.mkdir(parents=True, exist_ok=True)
    images, anns = [], []
    for k in range(n):
        image_id, size = first_id + k, sizes[k % len(sizes)]
        name = f"{image_id:012d}.jpg"
        boxes = _boxes(rng, size, 1 + k % 3)
        _picture(rng, size, boxes).save(folder / name, quality=90)
        images.append({"id": image_id, "file_name": name, "width": size[0], "height": size[1],
                       "license": 1, "date_captured": "2013-11-14 11:18:45"})
        for x0, y0, x1, y1 in boxes if annotated else ():
            w, h = x1 - x0, y1 - y0
            anns.append({"id": len(anns) + 1 + first_id * 10, "image_id": image_id,
                         "category_id": COCO_IDS[int(rng.integers(len(COCO_IDS)))],
                         "bbox": [float(x0), float(y0), float(w), float(h)],
                         "area": float(w * h), "iscrowd": 0,
                         "segmentation": [[x0, y0, x1, y0, x1, y1, x0, y1]]})
    cats = [{"id": i, "name": c, "supercategory": "thing"} for i, c in zip(COCO_IDS, COCO_CLASSES)]
    out = {"info": {"description": "repro fixture in COCO 2017's layout"},
           "licenses": [{"id": 1, "name": "fixture"}], "images": images, "categories": cats}
    if annotated:
        out["annotations"] = anns
    return out


def write_coco(root: Path, counts: dict | None = None, sizes=COCO_SIZES, seed: int = 0) -> Path:
    """``root/coco``; counts: {"train2017": n, "val2017": n, "test2017": n}."""
    counts = {"train2017": 4, "val2017": 2, "test2017": 2, **(counts or {})}
    rng = np.random.default_rng(seed)
    coco = Path(root) / "coco"
    (coco / "annotations").mkdir(parents=True, exist_ok=True)
    files = {"train2017": "instances_train2017.json", "val2017": "instances_val2017.json",
             "test2017": "image_info_test-dev2017.json"}
    for i, (split, n) in enumerate(counts.items()):
        data = _coco_split(rng, coco / split, n, 1000 * (i + 1), sizes, split != "test2017")
        (coco / "annotations" / files[split]).write_text(json.dumps(data))
    return coco


def write_paper_layout(root: Path, voc_counts: dict | None = None,
                       coco_counts: dict | None = None, sizes: dict | None = None) -> Path:
    """Both dataset families under `root` (what profile.data_root points at)."""
    sizes = sizes or {}
    write_voc(root, voc_counts, sizes.get("voc", VOC_SIZES))
    write_coco(root, coco_counts, sizes.get("coco", COCO_SIZES))
    return Path(root)
