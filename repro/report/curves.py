"""A balanced run over its iterations: the paper's Figures 1 and 3 from scalars.jsonl.

Figure 1 of ALWA shows the RPN's classification and regression losses over training
(classification dominates); Figure 3 the window statistics ALWA compares. For any run
whose scalars carry `balancer_w_cls` we plot the balanced pair of losses (the detector's
`balance_keys`, as trained, i.e. weighted; and unweighted, loss / weight), the two
weights, and, for a rule whose config entry declares `curves: {windows: interval}`
(ALWA), the mean and sample std of the weighted losses over each complete window of
C = `balancer.interval` iterations: exactly the numbers ALWA_1 (mean + std) and ALWA_2
(std) compare.

What to draw is the `curves:` declaration of the balancer's entry in conf/balancer/
(found by the run's `balancer.name`; the rules themselves import torch, the report
does not): `w_cls` names the classification weight (ALWA: alpha), `windows` the
setting that holds the window length, `unweighted: false` drops the loss / weight
lines of a rule whose weighted loss is not a multiple of the loss (learned weights).
"""
from __future__ import annotations

import functools
import json
import math
import statistics
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only; never a display
import matplotlib.pyplot as plt  # noqa: E402
import yaml  # noqa: E402

from repro.core.errors import ReproError  # noqa: E402
from repro.core.paths import CONF_DIR  # noqa: E402
from repro.report.figures import save_figure  # noqa: E402

WEIGHT_KEYS = ("balancer_w_cls", "balancer_w_reg")
# The balanced pair when config.yaml does not name it: two-stage (RPN), then one-stage.
DEFAULT_KEYS = (("loss_rpn_cls", "loss_rpn_bbox"), ("loss_cls", "loss_bbox"))


CURVES = {"w_cls": None, "windows": None, "unweighted": True}  # a rule that declares none


def declared_curves(name: str | None) -> dict:
    """The `curves:` declaration of the balancer entries named `name` (conf/balancer/)."""
    found = [(p, d) for p, d in _entries() if d.get("name") == name]
    shapes = {repr(d.get("curves") or {}) for _, d in found}
    if len(shapes) > 1:
        raise ReproError(f"conf/balancer/: the entries of balancer {name!r} "
                         f"({', '.join(p.name for p, _ in found)}) declare different curves; "
                         f"give them the same `curves:`")
    unknown = set(found[0][1].get("curves") or {}) - set(CURVES) if found else set()
    if unknown:
        raise ReproError(f"{found[0][0]}: curves.{sorted(unknown)[0]} is not a curve "
                         f"declaration; use {', '.join(CURVES)}")
    return {**CURVES, **((found[0][1].get("curves") or {}) if found else {})}


@functools.lru_cache(maxsize=1)
def _entries() -> tuple:
    return tuple((p, yaml.safe_load(p.read_text()) or {})
                 for p in sorted((CONF_DIR / "balancer").glob("*.yaml")))


def has_balancer_weights(run_dir: Path) -> bool:
    try:
        with open(Path(run_dir) / "scalars.jsonl") as f:
            return WEIGHT_KEYS[0] in json.loads(f.readline() or "{}")
    except (OSError, ValueError):
        return False


def _read_rows(run_dir: Path) -> list[dict]:
    rows = []
    with open(run_dir / "scalars.jsonl") as f:
        for line in f:
            try:
                rows.append(json.loads(line))
            except ValueError:
                break  # a line cut short by a kill: the rows before it are whole
    return rows


def _config(run_dir: Path) -> dict:
    try:
        with open(run_dir / "config.yaml") as f:
            return yaml.safe_load(f) or {}
    except (OSError, yaml.YAMLError):
        return {}


def _pair(cfg: dict, row: dict) -> tuple[str, str]:
    keys = (cfg.get("detector") or {}).get("balance_keys") or {}
    if keys.get("cls") in row and keys.get("reg") in row:
        return keys["cls"], keys["reg"]
    return next((p for p in DEFAULT_KEYS if p[0] in row and p[1] in row), DEFAULT_KEYS[0])


def window_stats(values: list[float], interval: int) -> list[tuple[int, float, float]]:
    """(last iteration, mean, sample std) of each complete window of `interval` values."""
    out = []
    for start in range(0, len(values) - interval + 1, interval):
        w = [v for v in values[start:start + interval] if math.isfinite(v)]
        if len(w) == interval:
            out.append((start + interval, statistics.fmean(w),
                        statistics.stdev(w) if interval > 1 else 0.0))
    return out


def _series(rows, key):
    return [float(r.get(key, math.nan)) for r in rows]


def _plot_losses(ax, it, rows, cls_key, reg_key, unweighted: bool):
    for key, colour in ((cls_key, "tab:red"), (reg_key, "tab:blue")):
        ax.plot(it, _series(rows, key), color=colour, lw=1, label=f"{key} (weighted)")
    if unweighted:
        for key, w, colour in ((cls_key, WEIGHT_KEYS[0], "tab:red"),
                               (reg_key, WEIGHT_KEYS[1], "tab:blue")):
            raw = [v / r[w] if r.get(w) else math.nan for v, r in zip(_series(rows, key), rows)]
            ax.plot(it, raw, color=colour, lw=0.8, ls="--", alpha=0.7,
                    label=f"{key} (unweighted)")
    ax.set_yscale("log")
    ax.set(xlabel="iteration", ylabel="loss (log scale)", title="balanced losses (Fig. 1)")


def _plot_windows(axes, rows, cls_key, reg_key, interval: int):
    drawn = False
    for key, colour in ((cls_key, "tab:red"), (reg_key, "tab:blue")):
        stats = window_stats(_series(rows, key), interval)
        ends = [s[0] for s in stats]
        drawn = drawn or bool(stats)
        axes[0].plot(ends, [s[1] for s in stats], "o-", color=colour, ms=3, label=key)
        axes[1].plot(ends, [s[2] for s in stats], "o-", color=colour, ms=3, label=key)
    for ax, what in zip(axes, ("mean", "sample std")):
        ax.set(xlabel="iteration (end of window)", ylabel=f"window {what} of weighted loss",
               title=f"{what} over windows of C={interval} (Fig. 3)")
        if not drawn:  # a short run (a smoke test): say so rather than draw empty axes
            ax.text(0.5, 0.5, f"no complete window of C={interval} iterations\n"
                    f"({len(rows)} iterations logged)", transform=ax.transAxes,
                    ha="center", va="center", color="0.35")
            ax.set_xticks([])
            ax.set_yticks([])


def balancer_figure(run_dir: Path, out_dir: Path, name: str, heading: str) -> list[Path]:
    """<name>.png and .pdf: losses and weights (and ALWA's window statistics)."""
    run_dir = Path(run_dir)
    rows = [r for r in _read_rows(run_dir) if "iter" in r]
    if not rows or WEIGHT_KEYS[0] not in rows[0]:
        return []
    cfg = _config(run_dir)
    balancer = cfg.get("balancer") or {}
    curves = declared_curves(balancer.get("name"))
    interval = balancer.get(curves["windows"]) if curves["windows"] else None
    cls_key, reg_key = _pair(cfg, rows[0])
    it = [r["iter"] for r in rows]
    fig, axes = plt.subplots(2 if interval else 1, 2, squeeze=False, layout="constrained",
                             figsize=(12, 8 if interval else 4.2))
    _plot_losses(axes[0][0], it, rows, cls_key, reg_key, unweighted=curves["unweighted"])
    ax = axes[0][1]
    w_cls = curves["w_cls"]  # what the classification weight is called (ALWA: alpha)
    ax.plot(it, _series(rows, WEIGHT_KEYS[0]), color="tab:red",
            label=f"w_cls ({w_cls})" if w_cls else "w_cls")
    ax.plot(it, _series(rows, WEIGHT_KEYS[1]), color="tab:blue", ls="--", label="w_reg")
    ax.set(xlabel="iteration", ylabel="loss weight",
           title=f"applied weights: {w_cls} over training" if w_cls else "applied weights")
    if interval:
        _plot_windows(axes[1], rows, cls_key, reg_key, int(interval))
    for a in axes.flat:
        if any(len(line.get_xdata()) for line in a.get_lines()):
            a.legend(fontsize=8)
        a.grid(alpha=0.3)
    label = balancer.get("label") or balancer.get("name") or "balancer"
    fig.suptitle(f"{heading}: {label}" + (f" (C={interval})" if interval else ""))
    return save_figure(fig, out_dir, name)
