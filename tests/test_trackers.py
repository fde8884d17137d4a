"""trackers= (issue 14): TensorBoard by default, MLflow (local file store) and Weights &
Biases (offline) on demand; a bad value or a missing package is one line before anything
runs. The TensorBoard files of a real sweep are checked in tests/test_console.py."""
import importlib.util
import json

import pytest

from conftest import run_repro

CELL = "w1.00-1.00__voc_sgd_l1"


@pytest.mark.parametrize("value, needle", [
    ("[tensorboard,bogus]", "trackers=[tensorboard,bogus]: name each of tensorboard, mlflow, "
                            "wandb at most once"),
    ("[tensorboard,tensorboard]", "at most once"),
    ("[tensorboard", "trackers=[tensorboard: give a list"),
])
def test_a_bad_trackers_value_is_one_line_before_anything_runs(repro, value, needle):
    r = repro("table=1", "-m", f"trackers={value}")
    assert r.returncode == 2 and "Traceback" not in r.stderr
    [line] = r.stderr.splitlines()
    assert line.startswith("repro: ") and needle in line
    assert not (repro.tmp_path / "sweeps").exists()


@pytest.mark.parametrize("tracker, extra", [("mlflow", "mlflow"), ("wandb", "wandb")])
def test_an_optional_tracker_that_is_not_installed_says_what_to_install(repro, tracker, extra):
    if importlib.util.find_spec(tracker) is not None:
        pytest.skip(f"{tracker} is installed here; the message is for machines without it")
    r = repro("table=1", "-m", f"trackers=[tensorboard,{tracker}]")
    assert r.returncode == 2 and "Traceback" not in r.stderr
    [line] = r.stderr.splitlines()
    assert line == (f"repro: trackers=[tensorboard,{tracker}]: {tracker} needs the {tracker} "
                    f"package, which is not installed; install it with: .venv/bin/pip install "
                    f"-e '.[{extra}]'" + (" (mlflow-skinny)" if tracker == "mlflow" else "") +
                    f", or leave {tracker} out (the default, trackers=[tensorboard], needs "
                    f"nothing more)")
    assert not (repro.tmp_path / "sweeps").exists()


def test_tracker_tags_group_as_tensorboard_shows_them():
    from repro.job.tracking import tag

    assert [tag(k) for k in ("loss", "loss_rpn_cls", "loss_bbox", "balancer_w_cls",
                             "balancer_roi_w_reg", "balancer_kpi_cls", "lr", "acc")] == [
        "loss/total", "loss/rpn_cls", "loss/bbox", "balancer/w_cls", "balancer/roi_w_reg",
        "balancer/kpi_cls", "train/lr", "train/acc"]


def _installed(module):
    return importlib.util.find_spec(module) is not None


@pytest.mark.training
@pytest.mark.skipif(not _installed("mlflow"),
                    reason="mlflow is optional: pip install -e '.[mlflow]'")
def test_mlflow_gets_each_run_in_the_table_s_local_file_store(tmp_path, monkeypatch):
    import mlflow

    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")  # as the runs' backend sets it

    r = run_repro("table=1", "-m", f"cells=[{CELL}]", "noise_seeds=1", "profile.iters=12",
                  "report=false", "trackers=[mlflow]", tmp_path=tmp_path)
    assert r.returncode == 0, r.stderr[-3000:]
    table = tmp_path / "sweeps" / "smoke" / "table1"
    assert not list(table.glob(f"{CELL}/seed0/events.out.tfevents.*"))  # tensorboard not asked
    client = mlflow.tracking.MlflowClient(tracking_uri=f"file://{table / 'mlruns'}")
    [experiment] = [e for e in client.search_experiments() if e.name == "smoke/table1"]
    [run] = client.search_runs([experiment.experiment_id])
    assert run.info.run_name == f"{CELL}/seed0" and run.info.status == "FINISHED"
    assert [m.step for m in client.get_metric_history(run.info.run_id, "loss/total")] == \
        list(range(1, 13))
    value = json.loads((table / CELL / "seed0" / "metrics.json").read_text())["value"]
    assert run.data.metrics["metric/mAP"] == pytest.approx(value)


@pytest.mark.training
@pytest.mark.skipif(not _installed("wandb"), reason="wandb is optional: pip install -e '.[wandb]'")
def test_wandb_writes_an_offline_run_in_the_run_folder(tmp_path):
    r = run_repro("table=1", "-m", f"cells=[{CELL}]", "noise_seeds=1", "profile.iters=12",
                  "report=false", "trackers=[wandb]", tmp_path=tmp_path)
    assert r.returncode == 0, r.stderr[-3000:]
    rd = tmp_path / "sweeps" / "smoke" / "table1" / CELL / "seed0"
    [run] = list((rd / "wandb").glob("offline-run-*"))  # offline: `wandb sync` uploads it
    [data] = list(run.glob("run-*.wandb"))
    # wandb 0.31 ships no reader of its offline format: the run's name and tags are in it.
    raw = data.read_bytes()
    assert f"{CELL}/seed0".encode() in raw
    assert raw.count(b"loss/total") >= 12 and b"metric/mAP" in raw
