"""What every key of the config groups may hold: type, range, allowed values.

Checked on each composed cell before the first job starts (repro/sweep/preflight.py),
so `profile.iters=abc` is one line and exit 2, not a table of `failed/error` cells. The
balancer group is checked by its own rules (repro/balancer_options.py); the loss dicts'
own parameters by MMDetection when the model is built, except `type` and `loss_weight`,
which are checked here. A key a group does not have (a typo under `+profile.x=`) is
refused with the keys it does have. Pure: no mmdet, no Hydra.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable

from repro.core.errors import ReproError


@dataclass(frozen=True)
class Rule:
    """One key: `ok(value)` says whether a value fits; `what` says what fits."""
    ok: Callable[[Any], bool]
    what: str


def _number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def num(lo: float | None = None, hi: float | None = None, *, whole: bool = False,
        null: bool = False, above: bool = False) -> Rule:
    kind = "a whole number" if whole else "a number"
    bounds = ([f"> {lo}" if above else f">= {lo}"] if lo is not None else []) + \
        ([f"<= {hi}"] if hi is not None else [])
    if lo == 0 and above and hi is None:
        kind, bounds = f"a positive {'whole ' if whole else ''}number", []
    what = f"{kind}{' ' + ' and '.join(bounds) if bounds else ''}{' or null' if null else ''}"

    def ok(v) -> bool:
        if v is None:
            return null
        if not _number(v) or (whole and not isinstance(v, int)):
            return False
        if lo is not None and (v <= lo if above else v < lo):
            return False
        return hi is None or v <= hi
    return Rule(ok, what)


def text(*choices: str, null: bool = False) -> Rule:
    what = f"one of {', '.join(choices)}" if choices else "a text"
    return Rule(lambda v: (v is None and null) or (isinstance(v, str) and (
        not choices or v in choices)), what + (" or null" if null else ""))


def flag(null: bool = False) -> Rule:
    return Rule(lambda v: isinstance(v, bool) or (v is None and null),
                "true or false" + (" or null" if null else ""))


def listof(item: Rule, n: int | None = None, min_len: int = 0, null: bool = False) -> Rule:
    size = f"{n} " if n else ""
    return Rule(lambda v: (v is None and null) or (
        isinstance(v, list) and (n is None or len(v) == n) and len(v) >= min_len
        and all(item.ok(x) for x in v)), f"a list of {size}({item.what})"
        + (" or null" if null else ""))


def mapping(value: Rule | None = None, null: bool = False) -> Rule:
    return Rule(lambda v: (v is None and null) or (isinstance(v, dict) and (
        value is None or all(value.ok(x) for x in v.values()))),
        "a mapping" + (f" of ({value.what})" if value else "") + (" or null" if null else ""))


def anything() -> Rule:
    return Rule(lambda v: True, "anything")


POSITIVE = num(0, above=True)
COUNT = num(1, whole=True)
NONNEG = num(0)
LOSS = Rule(lambda v: isinstance(v, dict) and isinstance(v.get("type"), str)
            and ("loss_weight" not in v or (_number(v["loss_weight"]) and v["loss_weight"] >= 0)),
            "a loss mapping with a `type` (text) and a loss_weight >= 0")
LOSS_OR_NULL = Rule(lambda v: v is None or LOSS.ok(v), LOSS.what + " or null")

SLURM = {"partition": text(null=True), "account": text(null=True), "qos": text(null=True),
         "timeout_min": COUNT, "cpus_per_task": COUNT, "mem_gb_per_task": num(0, above=True, null=True),
         "additional_parameters": mapping(), "setup": listof(text(), null=True),
         "array_parallelism": COUNT, "signal_delay_s": num(0, whole=True),
         "max_num_timeout": num(0, whole=True)}

GROUPS: dict[str, dict[str, Rule]] = {
    "profile": {
        "name": text(), "synthetic": flag(), "data_root": text(), "device": text("cpu", "cuda"),
        "gpus": num(0, whole=True), "images_per_gpu": COUNT, "workers": num(0, whole=True),
        "threads": num(1, whole=True, null=True), "image_scale": listof(COUNT, n=2),
        "bbox_min_size": NONNEG, "backbone": mapping(), "neck_channels": COUNT,
        "fc_channels": COUNT, "rpn_samples": COUNT, "rcnn_samples": COUNT,
        "proposals": COUNT, "proposals_pre_nms": COUNT, "test_batch": COUNT,
        "iters": COUNT, "warmup": num(0, whole=True), "lr_scale": mapping(POSITIVE),
        "detector_tuning": mapping(mapping()), "noise_seeds": COUNT,
        "checkpoint": num(1, whole=True, null=True),
        "checkpoint_minutes": num(0, above=True, null=True),
        "dist_timeout_s": num(0, above=True, null=True),
        "pretrained": mapping(text()), "slurm": mapping(),
        # rehearse=true (issue 13's conf/rehearse/): the table the rehearsal stands for,
        # and its scale-down settings
        "tables_as": text(), "rehearsal": mapping(null=True),
        # issue 13: the batch the optimizer entries' LRs are for; the warm-up's start
        "lr_batch": text("paper", "own"), "warmup_start": num(0, 1, above=True, null=True),
        # issue 12: per-sample seeds for the random transforms (repro/job/sample_seeds.py)
        "sample_seeds": flag(),
    },
    "profile.slurm": SLURM,
    "dataset": {
        "name": text(), "label": text(), "family": text("voc", "coco"), "metric": text(),
        "num_classes": COUNT, "metric_key": text(), "train_sets": listof(text(), min_len=1),
        "test_set": text(), "repeat": COUNT, "epochs": COUNT,
        "milestones": listof(COUNT), "paper_path": text(), "format_only": flag(),
        "test_ann": text(), "test_images": text(),
        # the real splits' counts and files (python -m repro.doctor)
        "images": mapping(COUNT), "annotations": mapping(COUNT), "ann_files": mapping(text()),
        "image_dirs": mapping(text()),
    },
    "detector": {
        "name": text(), "label": text(), "base": mapping(text(null=True)), "backbone": text(),
        "anchor_head": text(), "reg_heads": listof(text(), min_len=1),
        "class_heads": listof(text(), min_len=1), "balance_keys": mapping(text()),
        "roi_balance_keys": mapping(text()), "model_deltas": mapping(mapping()),
        "head_type": text(), "iou_loss_weight": NONNEG, "loss_overrides": mapping(mapping()),
        "assigner": mapping(), "warmup_ratio": num(0, 1, above=True),
    },
    "optimizer": {
        "name": text(), "label": text(), "type": text("SGD", "AdamW"), "lr": POSITIVE,
        "momentum": num(0, 1), "weight_decay": NONNEG, "grad_clip": mapping(null=True),
    },
    "reg_loss": {"name": text(), "label": text(), "loss": LOSS, "roi_loss_weight": NONNEG,
                 "decoded": flag()},
    "cls_loss": {"name": text(), "label": text(), "loss": LOSS_OR_NULL},
}


def check_group(group: str, node: dict, where: str) -> None:
    """Raise ReproError naming the first key of `node` that breaks `group`'s schema."""
    schema = GROUPS[group]
    for key, value in node.items():
        rule = schema.get(key)
        if rule is None:
            raise ReproError(f"{where}: {group}.{key} is not a setting of {group} (it has: "
                             f"{', '.join(sorted(schema))}); check the spelling")
        if not rule.ok(value):
            raise ReproError(f"{where}: {group}.{key}={value!r} must be {rule.what}")
        if f"{group}.{key}" in GROUPS and isinstance(value, dict):
            check_group(f"{group}.{key}", value, where)


def check_config(groups: dict[str, dict], where: str) -> None:
    """Every schema'd group of a composed cell (plain containers)."""
    for group in ("profile", "dataset", "detector", "optimizer", "reg_loss", "cls_loss"):
        if group in groups:
            check_group(group, groups[group], where)
