"""A sweep you can watch (issue 14): the console of a real small sweep, and the
TensorBoard event files of its runs, read with TensorBoard's own readers.

One sweep of two Table 2 cells (Faster R-CNN R50 + ALWA_2; C = 5 so that its windows
close within 12 iterations): the SmoothL1 cell trains; the L1 cell fails when its model
is built, because `++reg_loss.loss.beta=1.0` (SmoothL1's default, a no-op there) is not
an argument of MMDetection's L1Loss: a real failure, class `error`, with its traceback
in error.log.
"""
import json
import re
import statistics
from pathlib import Path

import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.backend.event_processing.event_multiplexer import EventMultiplexer

from conftest import run_repro

pytestmark = pytest.mark.training

DONE, FAILED = "faster_r50_alwa2__smooth_l1", "faster_r50_alwa2__l1"
ARGS = ("table=2", "-m", f"cells=[{DONE},{FAILED}]", "noise_seeds=1", "profile.iters=12",
        "++balancer.interval=5", "++reg_loss.loss.beta=1.0")
CELL_LINE = re.compile(r"^\[(\d+)/(\d+)\] (\S+) seed(\d+)  (.+?) \| (\d+) done, (\d+) failed"
                       r"(?: \| about (\d+ (?:s|min)) left)?$")
# Every line the sweep may print by default: its own, nothing of MMDetection or Hydra.
OURS = re.compile(r"^(ALWA Table 2 \(table2\), smoke profile: |running \d+ jobs?, |\[\d+/\d+\] |"
                  r"finished \d+ jobs? in |failed: |report written: |training curves: |skipped: )")


def _table(tmp):
    return tmp / "sweeps" / "smoke" / "table2"


def _json(path):
    return json.loads(path.read_text())


def _console(result):
    return (result.stdout + result.stderr).splitlines()


@pytest.fixture(scope="module")
def sweep(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("console")
    return tmp, run_repro(*ARGS, tmp_path=tmp)


def test_the_sweep_says_what_it_runs_then_one_line_per_finished_job(sweep):
    tmp, r = sweep
    assert r.returncode == 0, r.stderr[-3000:]
    lines = _console(r)
    assert lines[0] == ("ALWA Table 2 (table2), smoke profile: 2 cells x seed 0 -> 2 jobs, "
                        "0 done, 2 to run")
    assert lines[1].startswith(f"running 2 jobs, 2 at a time (local workers); run folders: "
                               f"{_table(tmp)}; MMDetection's log: in each run folder's run.log")
    cells = [CELL_LINE.match(l) for l in lines if l.startswith("[")]
    assert all(cells) and len(cells) == 2, lines
    assert [(m[1], m[2]) for m in cells] == [("1", "2"), ("2", "2")]  # index / total
    assert {m[3] for m in cells} == {DONE, FAILED} and {m[4] for m in cells} == {"0"}
    # The running counts add up, and the estimate of the time left goes with all but the last.
    assert [int(m[6]) + int(m[7]) for m in cells] == [1, 2]
    assert (cells[0][8] is not None, cells[1][8]) == (True, None)
    assert (cells[1][6], cells[1][7]) == ("1", "1")
    done = next(m for m in cells if m[3] == DONE)
    status = _json(_table(tmp) / DONE / "seed0" / "status.json")
    value = _json(_table(tmp) / DONE / "seed0" / "metrics.json")["value"]
    assert done[5] == f"done {value:.2f} mAP  {status['seconds']:.0f} s"


def test_a_failed_job_s_line_names_its_class_and_its_error_log(sweep):
    tmp, r = sweep
    log = _table(tmp) / FAILED / "seed0" / "error.log"
    [line] = [l for l in _console(r) if l.startswith("[") and FAILED in l]
    outcome = CELL_LINE.match(line)[5]
    assert outcome.startswith("FAILED (error: L1Loss.__init__() got an unexpected keyword "
                              "argument 'beta')  ")
    assert outcome.endswith(f" s, see {log}")
    assert "TypeError" in log.read_text()
    assert _json(log.parent / "status.json")["reason"] == "error"


def test_the_closing_lines_count_outcomes_and_name_the_written_tables(sweep):
    tmp, r = sweep
    lines = _console(r)
    [finished] = [l for l in lines if l.startswith("finished ")]
    assert re.fullmatch(r"finished 2 jobs in \d+ s: 1 done, 1 failed \(error 1\), 0 skipped, "
                        r"0 lost", finished)
    assert f"failed: {_table(tmp) / FAILED / 'seed0' / 'error.log'}" in lines
    [report] = [l for l in lines if l.startswith("report written: ")]
    written = report.removeprefix("report written: ").split(", ")
    results = tmp / "results" / "smoke"
    assert [str(results / f"table2.{ext}") for ext in ("md", "csv", "tex")] == written[:3]
    assert all(Path(p).is_file() for p in written)
    assert lines[-1] == f"training curves: tensorboard --logdir {_table(tmp)}"


def test_no_mmdetection_line_reaches_the_console_it_is_in_the_run_log(sweep):
    tmp, r = sweep
    strays = [l for l in _console(r) if not OURS.match(l)]
    assert strays == []
    text = r.stdout + r.stderr
    for needle in ("mmengine", "Iter(train)", "Warning", "[HYDRA]", "#0 :"):
        assert needle not in text
    log = (_table(tmp) / DONE / "seed0" / "run.log").read_text()
    assert "mmengine - INFO - Iter(train) [10/12]" in log and "pascal_voc/mAP" in log
    assert "got an unexpected keyword argument 'beta'" in (
        _table(tmp) / FAILED / "seed0" / "run.log").read_text()


def test_every_run_writes_one_tensorboard_event_file_with_readable_tags(sweep):
    tmp, _ = sweep
    runs = EventMultiplexer().AddRunsFromDirectory(str(_table(tmp))).Reload().Runs()
    # The run name TensorBoard shows is <cell>/seed<k>; the failed cell never trained.
    assert set(runs) == {f"{DONE}/seed0"}
    rd = _table(tmp) / DONE / "seed0"
    assert len(list(rd.glob("events.out.tfevents.*"))) == 1
    events = EventAccumulator(str(rd))
    events.Reload()
    tags = set(events.Tags()["scalars"])
    assert tags == {"loss/total", "loss/rpn_cls", "loss/rpn_bbox", "loss/cls", "loss/bbox",
                    "train/acc", "train/lr", "balancer/w_cls", "balancer/w_reg",
                    *(f"balancer/window_{s}_{p}" for s in ("mean", "std", "stat")
                      for p in ("cls", "reg")),
                    "test/pascal_voc/mAP", "test/pascal_voc/AP50", "metric/mAP"}

    def series(t):
        return {e.step: e.value for e in events.Scalars(t)}

    rows = [json.loads(l) for l in (rd / "scalars.jsonl").read_text().splitlines()]
    for t, key in (("loss/total", "loss"), ("loss/rpn_cls", "loss_rpn_cls"),
                   ("balancer/w_cls", "balancer_w_cls"), ("train/lr", "lr")):
        assert list(series(t)) == list(range(1, 13)), t  # every iteration
        assert list(series(t).values()) == pytest.approx([r[key] for r in rows], rel=1e-6), t
    metrics = _json(rd / "metrics.json")
    assert series("metric/mAP") == {12: pytest.approx(metrics["value"], rel=1e-6)}
    assert series("test/pascal_voc/mAP") == {12: pytest.approx(metrics["all"]["pascal_voc/mAP"])}


def test_alwa_s_window_statistics_are_the_ones_its_rule_compared(sweep):
    """ALWA_2 replaces alpha by std(S_reg) / std(S_cls) when the cls std is the larger: the
    logged statistics of each window of C = 5 iterations must give the weight it applied next."""
    tmp, _ = sweep
    rd = _table(tmp) / DONE / "seed0"
    events = EventAccumulator(str(rd))
    events.Reload()

    def series(t):
        return {e.step: e.value for e in events.Scalars(t)}

    rows = [json.loads(l) for l in (rd / "scalars.jsonl").read_text().splitlines()]
    std_cls, std_reg = series("balancer/window_std_cls"), series("balancer/window_std_reg")
    assert list(std_cls) == list(std_reg) == [5, 10]
    for end in (5, 10):
        window = rows[end - 5:end]
        assert std_cls[end] == pytest.approx(statistics.stdev(r["loss_rpn_cls"] for r in window),
                                             rel=1e-6)
        assert series("balancer/window_mean_reg")[end] == pytest.approx(
            statistics.fmean(r["loss_rpn_bbox"] for r in window), rel=1e-6)
        assert series("balancer/window_stat_cls")[end] == std_cls[end]  # ALWA_2: the std
    w_cls = series("balancer/w_cls")
    alpha = 1.0
    for end in (5, 10):
        if std_cls[end] > std_reg[end]:
            alpha = std_reg[end] / std_cls[end]
        assert w_cls[end + 1] == pytest.approx(alpha, rel=1e-5)
    assert alpha < 1.0  # the rule did act in this run, so the check above has teeth


def test_a_relaunch_says_what_it_skips_and_why(sweep):
    tmp, _ = sweep
    again = run_repro(*ARGS, tmp_path=tmp)
    assert again.returncode == 0, again.stderr[-2000:]
    lines = _console(again)
    assert lines[0].endswith("2 jobs, 1 done, 0 to run")
    assert lines[1] == ("skipped: 1 done, 1 failed (a diverged run is a result; "
                        "retry_failed=true reruns them)")
    assert not [l for l in lines if l.startswith("[")]


def test_verbose_brings_mmdetection_s_log_back_to_the_console(sweep):
    tmp, _ = sweep
    r = run_repro(*ARGS, "retry_failed=true", "verbose=true", "report=false", tmp_path=tmp)
    assert r.returncode == 0, r.stderr[-2000:]
    text = r.stdout + r.stderr
    assert "mmengine - INFO" in text and "#0 : " in text  # MMDetection's and Hydra's lines
    [line] = [l for l in text.splitlines() if l.startswith("[1/1] ")]
    assert f"{FAILED} seed0  FAILED (error: " in line
    # Not captured this time: the earlier attempt's run.log is gone with its attempt.
    assert not (_table(tmp) / FAILED / "seed0" / "run.log").exists()
