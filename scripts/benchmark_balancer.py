"""ALWA's cost per training iteration against the static balancer, side by side.

    .venv/bin/python scripts/benchmark_balancer.py [--iters 200] [--repeats 15] [mode ...]

Trains the smoke profile's VOC SGD+L1 cell (Faster R-CNN, ALWA on the RPN) once per
mode and repeat, timing mmengine's training loop only (no set-up, no test). Modes:

* ``static``: the baseline, the RPN's own loss weights (no balancer glue).
* ``alwa1_shadow``: ALWA_1's complete bookkeeping (the Balanced<Detector> glue, the
  windows, the statistics and their one host read per window, alpha replaced, the
  weights logged every iteration) with the weights it applies held at 1. Its training is
  the static one bit for bit (checked: the per-iteration total losses must be equal),
  so its extra time is ALWA's own cost and nothing else.
* ``alwa1``, ``alwa2``: the real rules (C = 100; the first alpha applies from iteration
  101). ALWA_1 changes alpha on this RPN, hence from then on the scores, the proposals
  and the sampled RoIs: its time includes a different training, not only bookkeeping
  (the script says which modes trained exactly as static).

Fairness, three figures:

1. Interleaved runs: the modes of one repeat run back to back, in an order rotated
   every repeat; a mode's overhead is the median over repeats of its run time divided
   by the static run's of the same repeat (machine drift hits both alike).
2. Best of repeats, iteration by iteration: every iteration is timed (end of one to end
   of the next, data loading and hooks included); for each iteration index the fastest
   of the repeats is kept, and a mode's time is the sum of those minima. Load from other
   processes only ever adds time, so the minimum over repeats estimates the undisturbed
   time; and since `alwa1_shadow` does the same work as `static` at every iteration (the
   same losses, proposals and samples), the two sums compare like with like.
3. In the loop: inside every balanced run the balancer's own time (the glue's
   `_balance`: summing the group, the rule, the weights for the log) is measured per
   iteration with a clock around it, relative to the static iteration time; to it is
   added the cost of logging the two weights (mmengine's `parse_losses` and message hub,
   the run record's row), timed on their own for one key and doubled.
"""
import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hydra import compose, initialize_config_dir  # noqa: E402
from mmengine.hooks import Hook  # noqa: E402

from repro.balancers import ALWA  # noqa: E402
from repro.balancers.base import register  # noqa: E402
from repro.core.paths import CONF_DIR  # noqa: E402
from repro.job.mmdet_config import build_mmdet_config  # noqa: E402

MODES = {"static": "static", "alwa1_shadow": "alwa1", "alwa2": "alwa2", "alwa1": "alwa1"}


@register
class ShadowALWA(ALWA):
    """ALWA with all its bookkeeping and updates, whose applied weights stay 1."""

    name = "alwa_shadow"

    def forward(self, cls_loss, reg_loss):
        super().forward(cls_loss, reg_loss)
        return cls_loss * 1.0, reg_loss * 1.0


class BalanceClock:
    """Wall time spent in the glue's per-iteration balancing, summed over a run."""

    def __init__(self) -> None:
        from repro.mmdet.balanced_detector import BalancedLossMixin

        self.seconds, self.calls = 0.0, 0
        original = BalancedLossMixin._balance

        def timed(*args, **kwargs):
            start = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                self.seconds += time.perf_counter() - start
                self.calls += 1

        BalancedLossMixin._balance = staticmethod(timed)


class IterTimes(Hook):
    """An mmengine hook: the wall time of every training iteration of a run."""

    priority = "LOWEST"

    def __init__(self) -> None:
        self.times: list[float] = []
        self._last = None

    def before_train(self, runner) -> None:
        self._last = time.perf_counter()

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
        now = time.perf_counter()
        self.times.append(now - self._last)
        self._last = now


def run_once(mode: str, iters: int, workdir: Path, clock: BalanceClock) -> dict:
    from repro.job.train import build_runner

    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = compose("config", overrides=["table='1'", f"cell=bench_{mode}",
                                           f"balancer={MODES[mode]}", f"profile.iters={iters}",
                                           f"sweeps_root={workdir}"])
    run_dir = workdir / f"{mode}_{time.time_ns()}"
    mm = build_mmdet_config(cfg, run_dir)
    mm.log_level = "WARNING"  # the figures below, not mmengine's per-run chatter
    if mode == "alwa1_shadow":
        mm.model.balancer["type"] = "alwa_shadow"
    runner = build_runner(mm, threads=cfg.profile.threads)
    iter_times = IterTimes()
    runner.register_hook(iter_times, "LOWEST")
    clock.seconds, clock.calls = 0.0, 0
    start = time.perf_counter()
    runner.train()
    seconds = time.perf_counter() - start
    rows = [json.loads(line) for line in (run_dir / "scalars.jsonl").read_text().splitlines()]
    holder = getattr(runner.model, "loss_balancer", None)
    return {"s_per_iter": seconds / iters, "losses": [r["loss"] for r in rows],
            "iter_times": iter_times.times,
            "balance_s_per_iter": clock.seconds / iters if clock.calls else 0.0,
            "alpha": getattr(holder.rule, "alpha", None) if holder else None}


def log_seconds_per_key(n: int = 20000) -> float:
    """What one more logged scalar costs per iteration: mmengine's `parse_losses` (a
    mean), its message hub (`RuntimeInfoHook`: a host read into a history buffer) and the
    run record's row (`RunRecordHook`: another read, JSON)."""
    import torch
    from mmengine.logging import MessageHub

    hub = MessageHub.get_instance(f"bench_{time.time_ns()}")
    value = torch.tensor(0.5)
    start = time.perf_counter()
    for _ in range(n):
        logged = value.mean()
        hub.update_scalar("train/balancer_w_cls", logged)
        json.dumps({"balancer_w_cls": float(logged.detach())})
    return (time.perf_counter() - start) / n


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("modes", nargs="*", default=list(MODES), help=f"of {list(MODES)}")
    ap.add_argument("--iters", type=int, default=200)
    ap.add_argument("--repeats", type=int, default=15)
    args = ap.parse_args()
    if set(args.modes) - set(MODES):
        ap.error(f"unknown modes {sorted(set(args.modes) - set(MODES))}; known: {list(MODES)}")
    modes = ["static"] + [m for m in args.modes if m != "static"]
    clock = BalanceClock()
    runs = {m: [] for m in modes}
    with tempfile.TemporaryDirectory() as tmp:
        run_once("alwa1", 10, Path(tmp), clock)  # warm-up: imports, caches
        for r in range(args.repeats):
            order = modes[r % len(modes):] + modes[:r % len(modes)]
            for m in order:
                runs[m].append(run_once(m, args.iters, Path(tmp), clock))
    static = [run["s_per_iter"] for run in runs["static"]]
    base = statistics.median(static)
    print(f"{args.repeats} interleaved repeats of {args.iters} iterations, smoke profile, "
          f"VOC SGD+L1 cell (Faster R-CNN, RPN group)")
    print(f"{'mode':>13}  {'median ms/iter':>14}  {'overhead vs static, same repeat':>32}  "
          f"{'balancer ms/iter (in loop)':>26}")
    for m, rs in runs.items():
        ms = statistics.median(run["s_per_iter"] for run in rs) * 1000
        ratios = sorted((run["s_per_iter"] / s - 1) * 100 for run, s in zip(rs, static))
        q1, q3 = ratios[len(ratios) // 4], ratios[(3 * len(ratios)) // 4]
        own = statistics.median(run["balance_s_per_iter"] for run in rs) * 1000
        own_pct = own / (base * 1000) * 100
        overhead = "" if m == "static" else (
            f"{statistics.median(ratios):+.2f}% (IQR {q1:+.2f}..{q3:+.2f}%)")
        print(f"{m:>13}  {ms:14.2f}  {overhead:>32}  "
              f"{own:10.3f} ({own_pct:.2f}% of static)")
    best = {m: sum(min(ts) for ts in zip(*(run["iter_times"] for run in rs)))
            for m, rs in runs.items()}
    print(f"best of {args.repeats} repeats per iteration, summed over {args.iters} "
          f"iterations:")
    for m, total in best.items():
        same = all(run["losses"] == s["losses"] for run, s in zip(runs[m], runs["static"]))
        print(f"{m:>13}  {total / args.iters * 1000:8.2f} ms/iter  "
              f"{(total / best['static'] - 1) * 100:+.2f}% vs static"
              f"{'  (training identical to static)' if same and m != 'static' else ''}")
    log_ms = 2 * log_seconds_per_key() * 1000
    alwa = [m for m in runs if m != "static"]
    own = max((statistics.median(run["balance_s_per_iter"] for run in runs[m]) for m in alwa),
              default=0.0) * 1000  # the largest median of the ALWA modes
    print(f"ALWA's own cost per iteration: balancing {own:.3f} ms + logging two weights "
          f"{log_ms:.3f} ms = {own + log_ms:.3f} ms = "
          f"{(own + log_ms) / (best['static'] / args.iters * 1000) * 100:.2f}% of the best "
          f"static iteration ({best['static'] / args.iters * 1000:.2f} ms)")
    if "alwa1_shadow" in runs:
        same = all(a["losses"] == b["losses"]
                   for a, b in zip(runs["alwa1_shadow"], runs["static"]))
        alpha = runs["alwa1_shadow"][0]["alpha"]
        print(f"alwa1_shadow: training identical to static: {same}; alpha computed "
              f"{alpha:.4f}, applied 1")
    print("per-run overheads vs static (%):")
    for m, rs in runs.items():
        if m != "static":
            print(f"  {m}: " + " ".join(f"{(run['s_per_iter'] / s - 1) * 100:+.2f}"
                                        for run, s in zip(rs, static)))


if __name__ == "__main__":
    main()
