"""What the quiet console and the TensorBoard event files cost a smoke cell (issue 14).

    .venv/bin/python scripts/benchmark_console.py [--repeats 8] [--iters 220] [--split]
        [--control] [--json runs.json] > /tmp/bench.log      (the figures go to stderr)

Runs the smoke profile's VOC SGD+L1 cell of Table 1 through the job's real entry point
(`run_cell`, as a sweep's worker does) in one process, in these modes, interleaved in an
order that rotates every repeat, each run in a fresh run folder:

* ``before``: what a cell did before issue 14: no tracker (`trackers=[]`) and its whole
  output on the console (`verbose=true`; run this script with stdout sent to a file);
* ``after``: the default now: TensorBoard event files (`trackers=[tensorboard]`) and
  the output captured into the run folder's run.log;
* with ``--split`` also ``tensorboard_only`` and ``capture_only``; ``--control`` runs
  ``after`` in the ``before`` slot too (an A/A comparison: the machine's noise floor).

Figures:

1. the cell's time as its record says (`seconds`: build, train, test), median over
   repeats of after/before within a repeat, with its spread (IQR, min..max);
   and the same for the process's CPU time (all its threads: TensorBoard writes its
   file from a thread of its own), which waiting for a busy machine's cores does not
   count (caches shared with other processes still slow it);
2. in the loop: the CPU time spent in the tracker hook (every iteration's scalars, the
   backend's start and close, the test's scalars), in TensorBoard's writer thread
   (serialising, checksumming, writing) and in the capture (redirecting and restoring
   the output), clocked inside the real runs of ``after``, as a share of the cell's CPU
   time: the cost itself, free of the machine's run-to-run noise;
3. the training loop's iterations, best of the repeats per iteration index and summed
   (load from other processes only ever adds time, so the minimum over repeats
   estimates the undisturbed time), before against after;
4. the garbage collector's time per cell (allocations elsewhere could shift it);
5. the sweep process's side: one poll of the progress watcher over a 144-job table's
   records (done once per second while a sweep runs), and the one-off import of
   torch.utils.tensorboard per worker process (measured in a fresh interpreter).
"""
import argparse
import gc
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from hydra import compose, initialize_config_dir  # noqa: E402

from repro.core import records  # noqa: E402
from repro.core.paths import CONF_DIR  # noqa: E402
from repro.job.job_log import JobLog  # noqa: E402
from repro.job.run_cell import run_cell  # noqa: E402
from repro.job.tracking import TrackerHook  # noqa: E402
from repro.sweep.expand import expand  # noqa: E402
from repro.sweep.progress import Progress  # noqa: E402
from repro.table.spec import load_table  # noqa: E402

CELL = "w1.00-1.00__voc_sgd_l1"
MODES = {"before": ["trackers=[]", "verbose=true"], "after": []}
SPLIT = {"tensorboard_only": ["verbose=true"], "capture_only": ["trackers=[]"]}


class Clock:
    """CPU time of the calling thread spent in some methods of a class, summed (the real
    runs call them). CPU time, not wall time: the reference machine is shared, and a
    wait for the core is not a cost of the code."""

    def __init__(self, cls, names) -> None:
        self.seconds = 0.0
        for name in names:
            original = getattr(cls, name)

            def timed(*args, _original=original, **kwargs):
                start = time.thread_time()
                try:
                    return _original(*args, **kwargs)
                finally:
                    self.seconds += time.thread_time() - start

            setattr(cls, name, timed)


class WriterClock:
    """CPU time of TensorBoard's writer threads (serialising, checksumming and writing
    the events), each measured by the thread itself when it ends."""

    def __init__(self) -> None:
        from tensorboard.summary.writer import event_file_writer

        self.seconds = 0.0
        original = event_file_writer._AsyncWriterThread.run

        def run(thread):
            try:
                original(thread)
            finally:
                self.seconds += time.thread_time()

        event_file_writer._AsyncWriterThread.run = run


class GCClock:
    """CPU time of Python's garbage collections (a cost that lands wherever the
    allocation that triggers one happens), and their number per generation."""

    def __init__(self) -> None:
        self.seconds, self.counts, self._start = 0.0, [0, 0, 0], None
        gc.callbacks.append(self._callback)

    def reset(self) -> None:
        self.seconds, self.counts = 0.0, [0, 0, 0]

    def _callback(self, phase, info) -> None:
        if phase == "start":
            self._start = time.thread_time()
        elif self._start is not None:
            self.seconds += time.thread_time() - self._start
            self.counts[info["generation"]] += 1


class IterTimes:
    """Every training iteration's wall time (end of one to end of the next: the
    tracker's work included), from an mmengine hook added to each run's runner."""

    def __init__(self) -> None:
        from mmengine.hooks import Hook

        from repro.job import train

        self.times: list[float] = []
        clock = self

        class Timer(Hook):
            priority = "LOWEST"

            def before_train(self, runner) -> None:
                clock.times, clock._last = [], time.perf_counter()

            def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
                now = time.perf_counter()
                clock.times.append(now - clock._last)
                clock._last = now

        original = train.build_runner

        def build_runner(*args, **kwargs):
            runner = original(*args, **kwargs)
            runner.register_hook(Timer(), "LOWEST")
            return runner

        train.build_runner = build_runner


def run_once(mode: str, iters: int, root: Path, hook: Clock, capture: Clock,
             writer: WriterClock, collector: GCClock, iter_times: IterTimes) -> dict:
    job, = [j for j in expand(load_table("1"), profile="smoke", sweeps_root=root, seeds=1,
                              cells=[CELL]) if j.seed == 0]
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = compose("config", overrides=["table='1'", *job.overrides, f"sweeps_root={root}",
                                           f"profile.iters={iters}", *MODES[mode]])
    hook.seconds = capture.seconds = writer.seconds = 0.0
    collector.reset()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    start, cpu = time.perf_counter(), time.process_time()
    status = run_cell(cfg)
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    after = resource.getrusage(resource.RUSAGE_SELF)
    assert status["state"] == records.DONE, status
    events = list(job.run_dir.glob("events.out.tfevents.*"))
    assert bool(events) == ("trackers=[]" not in MODES[mode]), (mode, events)
    return {"mode": mode, "seconds": status["seconds"], "wall": wall, "cpu": cpu,
            "hook": hook.seconds, "capture": capture.seconds, "writer": writer.seconds,
            "gc": collector.seconds, "gc_counts": collector.counts,
            "iter_times": iter_times.times,
            "switches": [after.ru_nvcsw - usage.ru_nvcsw, after.ru_nivcsw - usage.ru_nivcsw]}


def poll_seconds(root: Path, n: int = 50) -> tuple[float, int]:
    """One poll of the progress watcher over Table 1's 144 jobs, the records present."""
    spec = load_table("1")
    jobs = expand(spec, profile="smoke", sweeps_root=root, seeds=1, noise_seeds=5)
    for j in jobs:
        records.write_json(j.run_dir / records.STATUS, {"state": "running", "started": "x"})
    progress = Progress(jobs)
    progress.poll()  # the first poll reads every record; later ones stat them
    start = time.perf_counter()
    for _ in range(n):
        progress.poll()
    return (time.perf_counter() - start) / n, len(jobs)


def tensorboard_import_seconds() -> float:
    code = ("import time, torch; t = time.perf_counter(); "
            "from torch.utils.tensorboard import SummaryWriter; print(time.perf_counter() - t)")
    return float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                check=True).stdout)


def spread(values: list[float]) -> str:
    v = sorted(values)
    q1, q3 = v[len(v) // 4], v[(3 * len(v)) // 4]
    return (f"median {statistics.median(v):+.2f}% (IQR {q1:+.2f}..{q3:+.2f}%, "
            f"min..max {v[0]:+.2f}..{v[-1]:+.2f}%, n={len(v)})")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=8)
    ap.add_argument("--iters", type=int, default=220)
    ap.add_argument("--json", type=Path, help="write every run's figures here")
    ap.add_argument("--control", action="store_true",
                    help="run `after` in both slots (an A/A comparison: the noise floor)")
    ap.add_argument("--split", action="store_true",
                    help="also run TensorBoard alone and the capture alone")
    args = ap.parse_args()
    if args.control:
        MODES["before"] = MODES["after"]
    if args.split:
        MODES.update(SPLIT)
    hook = Clock(TrackerHook, ["before_train", "after_train_iter", "before_save_checkpoint",
                               "after_train", "after_test_epoch", "close"])
    capture = Clock(JobLog, ["__enter__", "__exit__", "restart"])
    writer = WriterClock()
    collector = GCClock()
    iter_times = IterTimes()
    runs = {m: [] for m in MODES}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        run_once("after", 10, tmp / "warm", hook, capture, writer, collector, iter_times)
        modes = list(MODES)
        for r in range(args.repeats):  # the order rotates (and reverses) from repeat to repeat
            order = modes[r % len(modes):] + modes[:r % len(modes)]
            order = order if r % 2 == 0 else order[::-1]
            for m in order:
                runs[m].append(run_once(m, args.iters, tmp / f"{m}{r}", hook, capture, writer,
                                        collector, iter_times))
        poll, n_jobs = poll_seconds(tmp / "poll")
    report = sys.stderr  # stdout holds the `before` runs' MMDetection output
    b, a = runs["before"], runs["after"]
    print(f"{args.repeats} alternating repeats, smoke profile, {args.iters} iterations, "
          f"Table 1 cell {CELL} (run_cell in one process)", file=report)
    for key, what in (("seconds", "the record's seconds (build + train + test), wall"),
                      ("wall", "run_cell's wall time (+ claim, records, provenance)"),
                      ("cpu", "run_cell's CPU time, every thread of the process "
                              "(TensorBoard's writer thread included)")):
        print(f"{what}: before {statistics.median(r[key] for r in b):.2f} s, after "
              f"{statistics.median(r[key] for r in a):.2f} s (medians); after/before in the "
              f"same repeat: {spread([(y[key] / x[key] - 1) * 100 for x, y in zip(b, a)])}",
              file=report)
    for m in [m for m in runs if m not in ("before", "after")]:  # --split
        ratios = [(y["cpu"] / x["cpu"] - 1) * 100 for x, y in zip(b, runs[m])]
        print(f"{m}/before, CPU: {spread(ratios)}", file=report)
    best = {m: sum(min(ts) for ts in zip(*(r["iter_times"] for r in rs)))
            for m, rs in runs.items()}
    parts = []
    for m in runs:
        vs = "" if m == "before" else f" ({(best[m] / best['before'] - 1) * 100:+.2f}%)"
        parts.append(f"{m} {best[m] / args.iters * 1000:.2f} ms/iter{vs}")
    print(f"training loop, best of {args.repeats} repeats per iteration index, summed over "
          f"{args.iters} iterations: {', '.join(parts)}", file=report)
    for m, rs in runs.items():
        print(f"context switches per cell, {m}: voluntary "
              f"{statistics.median(r['switches'][0] for r in rs):.0f}, involuntary "
              f"{statistics.median(r['switches'][1] for r in rs):.0f}", file=report)
    cell = statistics.median(r["cpu"] for r in a)
    own = [r["hook"] + r["writer"] + r["capture"] for r in a]
    print(f"in the loop (runs of `after`, CPU): tracker hook "
          f"{statistics.median(r['hook'] for r in a):.3f} s + TensorBoard's writer thread "
          f"{statistics.median(r['writer'] for r in a):.3f} s"
          f" + capture {statistics.median(r['capture'] for r in a) * 1000:.2f} ms per cell = "
          f"{statistics.median(own) / cell * 100:.2f}% of the cell's {cell:.2f} CPU s "
          f"(min..max {min(own) / cell * 100:.2f}..{max(own) / cell * 100:.2f}%)", file=report)
    for m, rs in runs.items():
        counts = [statistics.median(r["gc_counts"][g] for r in rs) for g in range(3)]
        print(f"garbage collections, {m}: {statistics.median(r['gc'] for r in rs):.3f} CPU s per "
              f"cell (median), collections per generation {counts}", file=report)
    if args.json:
        args.json.write_text(json.dumps(runs, indent=1))
    print(f"sweep process: one progress poll over {n_jobs} records {poll * 1000:.2f} ms "
          f"(once a second: {poll * 100:.3f}% of one core); torch.utils.tensorboard import "
          f"{tensorboard_import_seconds():.2f} s once per worker process", file=report)


if __name__ == "__main__":
    main()
