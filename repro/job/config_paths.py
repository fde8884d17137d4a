"""Addressing parts of an MMDetection config the way the detector entries name them."""
from __future__ import annotations

from mmengine.config import Config


def model_part(mm: Config, dotted: str):
    """A part of the model by its path under `model` (e.g. `roi_head.bbox_head`)."""
    node = mm.model
    for part in dotted.split("."):
        node = node[part]
    return node


def walk(node):
    """Every dict inside a config (pipelines sit deep in nested datasets)."""
    if isinstance(node, dict):
        yield node
        for v in node.values():
            yield from walk(v)
    elif isinstance(node, (list, tuple)):
        for v in node:
            yield from walk(v)
