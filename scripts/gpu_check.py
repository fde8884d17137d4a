"""The GPU check (issue 13, point 5): on a machine with a GPU, in at most 8 minutes,

1. a paper cell (ALWA Table 2's Faster R-CNN R50 + ALWA_2, SGD + L1, VOC) at the paper's
   scale: real image sizes (synthetic VOC-layout images written at 1000 x 600, resized
   to the paper's (1000, 600)), 2 images per GPU, a full-width ResNet-50 loaded through
   MMDetection's Pretrained path (random weights in torchvision's format), ~200
   iterations: seconds per iteration (median after 20 warm-up iterations) and peak GPU
   memory; then the same with AMP (mmengine's AmpOptimWrapper);
2. mmcv's compiled CUDA ops (NMS, RoIAlign) on CUDA tensors, against their CPU results;
3. a 2-process NCCL all-reduce where two GPUs exist.

It writes its figures into docs/benchmarks.md (the section between the gpu_check
markers; --out elsewhere). Without a GPU it says so and exits 0, measuring nothing;
`--device cpu --iters 2` runs every CPU-runnable part (the rehearsal stage's test does).

    bash scripts/gpu_check.sh                 # on a GPU node
    bash scripts/gpu_check.sh --device cpu --iters 2 --out /tmp/bench.md
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

BEGIN, END = "<!-- gpu_check:begin -->", "<!-- gpu_check:end -->"
CELL = ("2", "faster_r50_alwa2__l1")  # ALWA Table 2: Faster R-CNN R50 + ALWA_2, SGD + L1, VOC


def _fixtures(root: Path) -> tuple[Path, Path]:
    from repro.mmdet.checkpoint_files import write_checkpoint
    from repro.data.paper_layout import write_voc

    # 40 training images: 200 iterations of 2 images are 10 passes (mmengine's loop).
    write_voc(root / "data", {("2012", "trainval"): 40, ("2007", "test"): 4},
              sizes=((1000, 600),))
    return root / "data", write_checkpoint("resnet50", root / "checkpoints")


def _cell_config(data: Path, weights: Path, iters: int, run_dir: Path):
    from hydra import compose, initialize_config_dir

    from repro.core.paths import CONF_DIR
    from repro.table.spec import load_table

    table, cell = CELL
    spec = load_table(table)
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        return compose("config", overrides=[
            f"table='{table}'", *spec.cell(cell).overrides_for("paper"), f"cell={cell}",
            "profile=paper", "rehearse='true'", f"profile.data_root={data}",
            f"profile.pretrained.resnet50={weights}", f"profile.iters={iters}",
            "profile.warmup=10", "profile.checkpoint=null", "profile.workers=2",
            "profile.rehearsal.test_images=4", "trackers=[]"])


def train(cfg, run_dir: Path, amp: bool, device: str) -> dict:
    """One training of the cell: s/iter (median after warm-up), peak memory, iterations."""
    import torch
    from mmengine.hooks import Hook

    from repro.job.mmdet_config import build_mmdet_config
    from repro.job.train import build_runner

    mm = build_mmdet_config(cfg, run_dir)
    if amp:
        mm.optim_wrapper.type = "AmpOptimWrapper"
        mm.optim_wrapper.loss_scale = "dynamic"
    stamps: list[float] = []

    class Stamp(Hook):
        def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
            if device == "cuda":
                torch.cuda.synchronize()
            stamps.append(time.perf_counter())

    runner = build_runner(mm)
    runner.register_hook(Stamp(), priority="LOWEST")
    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    runner.train()
    steps = [b - a for a, b in zip(stamps, stamps[1:])]
    skip = min(20, len(steps) // 2)
    out = {"iters": runner.iter, "s_per_iter": statistics.median(steps[skip:]) if steps else None,
           "peak_gib": torch.cuda.max_memory_allocated() / 2**30 if device == "cuda" else None}
    metrics = runner.test()
    out["mAP"] = float(metrics.get("pascal_voc/mAP", float("nan")))
    return out


def cuda_ops() -> str:
    """NMS and RoIAlign on CUDA tensors, checked against the CPU op."""
    import torch
    from mmcv.ops import RoIAlign, nms

    g = torch.Generator().manual_seed(0)
    xy = torch.rand(500, 2, generator=g) * 900
    boxes = torch.cat([xy, xy + 20 + torch.rand(500, 2, generator=g) * 100], 1)
    scores = torch.rand(500, generator=g)
    keep_cpu = nms(boxes, scores, 0.5)[1]
    keep_gpu = nms(boxes.cuda(), scores.cuda(), 0.5)[1].cpu()
    feats = torch.rand(2, 16, 64, 64, generator=g)
    rois = torch.tensor([[0, 3., 4., 40., 50.], [1, 10., 10., 60., 30.]])
    op = RoIAlign((7, 7), spatial_scale=1.0, sampling_ratio=2, aligned=True)
    diff = (op(feats, rois) - op(feats.cuda(), rois.cuda()).cpu()).abs().max().item()
    same = torch.equal(keep_cpu.sort().values, keep_gpu.sort().values)
    if not same or diff > 1e-4:
        raise SystemExit(f"gpu_check: mmcv CUDA ops disagree with the CPU ones (NMS same: {same}, "
                         f"RoIAlign max diff {diff:.2e}): reinstall mmcv for this CUDA")
    return f"NMS ({len(keep_gpu)} of 500 kept, = CPU) and RoIAlign (max diff {diff:.1e} to CPU)"


def _nccl_worker(rank: int, port: int, out) -> None:
    import torch
    import torch.distributed as dist

    torch.cuda.set_device(rank)
    dist.init_process_group("nccl", init_method=f"tcp://127.0.0.1:{port}", rank=rank,
                            world_size=2)
    t = torch.full((1 << 20,), float(rank + 1), device="cuda")
    dist.all_reduce(t)
    torch.cuda.synchronize()
    out.put((rank, float(t[0])))
    dist.destroy_process_group()


def nccl_two_processes() -> str:
    import socket

    import torch
    import torch.multiprocessing as mp

    if torch.cuda.device_count() < 2:
        return f"not run: {torch.cuda.device_count()} GPU here (needs 2)"
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    procs = [ctx.Process(target=_nccl_worker, args=(r, port, q)) for r in range(2)]
    for p in procs:
        p.start()
    got = dict(q.get(timeout=120) for _ in procs)
    for p in procs:
        p.join(60)
    ok = got == {0: 3.0, 1: 3.0} and all(p.exitcode == 0 for p in procs)
    return f"2-process all-reduce {'ok' if ok else 'WRONG: ' + str(got)} (NCCL " \
           f"{'.'.join(map(str, torch.cuda.nccl.version()))})"


def write_section(path: Path, text: str) -> None:
    body = path.read_text() if path.exists() else ""
    block = f"{BEGIN}\n{text.rstrip()}\n{END}"
    if BEGIN in body and END in body:
        head, rest = body.split(BEGIN, 1)
        body = head + block + rest.split(END, 1)[1]
    else:
        body = body.rstrip() + "\n\n" + block + "\n"
    path.write_text(body)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", choices=("cuda", "cpu"), default="cuda")
    ap.add_argument("--iters", type=int, default=200)
    ap.add_argument("--out", type=Path, default=None,
                    help="where the figures go (default: docs/benchmarks.md on a GPU; "
                         "nowhere on --device cpu)")
    a = ap.parse_args(argv)
    if a.device == "cpu":  # even on a GPU machine: mmengine would otherwise take the GPU
        os.environ["CUDA_VISIBLE_DEVICES"] = ""
    import torch

    if a.device == "cuda" and not torch.cuda.is_available():
        print("gpu_check: no CUDA GPU on this machine (torch sees none); nothing measured. "
              "Run it on a GPU node; `--device cpu --iters 2` checks the script itself.")
        return 0
    out = a.out or (ROOT / "docs" / "benchmarks.md" if a.device == "cuda" else None)
    t0 = time.perf_counter()
    import mmcv
    import mmdet

    lines = []
    with tempfile.TemporaryDirectory(prefix="gpu_check_") as tmp:
        data, weights = _fixtures(Path(tmp))
        runs = {}
        for amp in ((False, True) if a.device == "cuda" else (False,)):
            run_dir = Path(tmp) / ("amp" if amp else "fp32")
            cfg = _cell_config(data, weights, a.iters, run_dir)
            runs["AMP" if amp else "fp32"] = train(cfg, run_dir, amp, a.device)
            print(f"gpu_check: {'AMP' if amp else 'fp32'} {runs['AMP' if amp else 'fp32']}",
                  flush=True)
    ops = cuda_ops() if a.device == "cuda" else "not run (--device cpu)"
    nccl = nccl_two_processes() if a.device == "cuda" else "not run (--device cpu)"
    name = torch.cuda.get_device_name(0) if a.device == "cuda" else platform.processor() or "CPU"
    lines += [f"Measured {date.today().isoformat()} on {name} ({a.device}), torch {torch.__version__}, "
              f"mmcv {mmcv.__version__}, mmdet {mmdet.__version__}; command: "
              f"`bash scripts/gpu_check.sh{' --device cpu' if a.device == 'cpu' else ''}"
              f"{f' --iters {a.iters}' if a.iters != 200 else ''}`, "
              f"{time.perf_counter() - t0:.0f} s in all.", "",
              "| run | iterations | s/iter (median after warm-up) | peak GPU memory | mAP (4 test images) |",
              "|---|---|---|---|---|"]
    for k, r in runs.items():
        s = f"{r['s_per_iter']:.3f}" if r["s_per_iter"] is not None else "n/a"
        mem = f"{r['peak_gib']:.2f} GiB" if r["peak_gib"] is not None else "n/a (CPU)"
        lines.append(f"| Faster R-CNN R50 + ALWA_2, 2 images of 1000x600, {k} | {r['iters']} | {s} "
                     f"| {mem} | {r['mAP'] * 100:.2f} |")
    lines += ["", f"- mmcv CUDA ops: {ops}", f"- NCCL: {nccl}"]
    text = "\n".join(lines)
    print(text)
    if out is not None:
        write_section(out, text)
        print(f"gpu_check: figures written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
