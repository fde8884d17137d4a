"""Every run's training curves where researchers look: TensorBoard by default (`trackers=`).

`TrackerHook` writes, on rank 0, every training iteration's logged values (the losses,
the balancer's weights and KPIs, the LR) and, for a rule that compares window statistics
(ALWA; its `window_log` declaration), each window's statistics (the mean and std of the
two weighted losses over its C iterations, and the statistic the rule compares), then the test results and the table's number (0-100) after the test,
through mmengine's visualization backends:

- `tensorboard`: mmengine's `TensorboardVisBackend`, writing its event file into the
  run folder itself, so `tensorboard --logdir sweeps/<profile>/<table>` shows every
  cell and seed as a run named `<row>__<column>/seed<k>`; a resumed run purges what its
  interrupted attempt wrote after the checkpoint (TensorBoard's `purge_step`).
- `mlflow`: `MLflowVisBackend` with a local file store per table folder
  (`<table folder>/mlruns`, experiment `<profile>/<table>`, run `<cell>/seed<k>`).
- `wandb`: `WandbVisBackend` in offline mode (`<run folder>/wandb/`; `wandb sync` uploads).

Tags group as TensorBoard shows them: `loss/<name>` (`loss/total`, `loss/rpn_cls`, ...),
`balancer/<name>` (`balancer/w_cls`, `balancer/window_std_cls`, ...), `train/lr`,
`test/<evaluator key>` and `metric/<mAP|AP>`.
"""
from __future__ import annotations

import os
import statistics
from pathlib import Path

from mmengine.hooks import Hook
from mmengine.registry import HOOKS
from mmengine.visualization import MLflowVisBackend, TensorboardVisBackend, WandbVisBackend
from mmengine.visualization.vis_backend import force_init_env
from omegaconf import DictConfig, OmegaConf

from repro.balancers.base import groups_of, rule_named
from repro.core.tracker_options import MLFLOW_DIR, check_trackers
from repro.job.headline import headline

GROUP_PREFIX = {"anchor": "balancer_", "roi": "balancer_roi_"}


def tag(key: str) -> str:
    """A logged value's name on the trackers: `loss_rpn_cls` -> `loss/rpn_cls`."""
    if key == "loss":
        return "loss/total"
    for prefix, group in (("loss_", "loss"), ("balancer_", "balancer")):
        if key.startswith(prefix):
            return f"{group}/{key[len(prefix):]}"
    return f"train/{key}"


def tracker_hook(cfg: DictConfig, run_dir: Path) -> dict | None:
    """The cell's TrackerHook entry (None with trackers=[])."""
    names = check_trackers(OmegaConf.to_object(cfg.trackers) if OmegaConf.is_config(
        cfg.get("trackers")) else cfg.get("trackers"))
    if not names:
        return None
    b, windows = cfg.balancer, []
    window = rule_named(b.name).window_log(b)
    if window:
        for group in groups_of(b):
            keys = cfg.detector.balance_keys if group == "anchor" else cfg.detector.roi_balance_keys
            windows.append(dict(prefix=GROUP_PREFIX[group], cls=keys.cls, reg=keys.reg, **window))
    identity = {"profile": cfg.profile.name, "table": cfg.table.id, "cell": cfg.cell,
                "seed": int(cfg.seed)}
    return dict(type="TrackerHook", trackers=names, run_dir=str(run_dir), identity=identity,
                metric=None if cfg.dataset.get("format_only") else cfg.dataset.metric,
                metric_key=cfg.dataset.metric_key, windows=windows)


class RunTensorboardVisBackend(TensorboardVisBackend):
    """mmengine's TensorboardVisBackend with TensorBoard's `purge_step` (a run resumed
    from iteration k hides what its interrupted attempt logged after k), writing all of
    one step's scalars as one event: one record and one checksum per iteration instead
    of one per tag, a fifth of the cost (docs/benchmarks.md)."""

    def __init__(self, save_dir: str, purge_step: int | None = None) -> None:
        super().__init__(save_dir)
        self._purge_step = purge_step

    def _init_env(self) -> None:
        from tensorboard.compat.proto.summary_pb2 import Summary
        from torch.utils.tensorboard import SummaryWriter

        os.makedirs(self._save_dir, exist_ok=True)
        self._tensorboard = SummaryWriter(self._save_dir, purge_step=self._purge_step)
        self._summary = Summary

    def sync(self) -> None:
        """Wait until every event handed over is in the file."""
        if hasattr(self, "_tensorboard"):
            self._tensorboard.flush()

    @force_init_env
    def add_scalars(self, scalar_dict: dict, step: int = 0, file_path=None, **kwargs) -> None:
        value = self._summary.Value
        summary = self._summary(value=[value(tag=k, simple_value=v)
                                       for k, v in scalar_dict.items()])
        self._tensorboard._get_file_writer().add_summary(summary, step)


class TableMLflowVisBackend(MLflowVisBackend):
    """MLflowVisBackend on the table's local file store (MLflow 3 calls that store
    deprecated and refuses it unless MLFLOW_ALLOW_FILE_STORE is true: it stays the one
    that needs no server and no database). Two workers may create the table's experiment
    at the same moment; the second then finds it."""

    def _init_env(self) -> None:
        os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
        try:
            super()._init_env()
        except Exception as e:  # noqa: BLE001 - mlflow's MlflowException, whose import is optional
            if "already exists" not in str(e):
                raise
            super()._init_env()


class _Window:
    """ALWA's window of one head group, seen from the log: every `interval` iterations
    the mean and std (ddof 1) of the weighted cls and reg losses, and the statistic the
    rule compares (ALWA_1: mean + std, ALWA_2: std), exactly as the rule computes them."""

    def __init__(self, prefix: str, cls: str, reg: str, interval: int, variant: int) -> None:
        self.prefix, self.keys = prefix, {"cls": cls, "reg": reg}
        self.interval, self.variant = interval, variant
        self.values: dict[str, list[float]] = {"cls": [], "reg": []}

    def add(self, step: int, row: dict) -> dict:
        for part, key in self.keys.items():
            self.values[part].append(row[key])
        if step % self.interval:
            return {}
        out = {}
        if all(len(v) == self.interval for v in self.values.values()):  # a whole window seen
            for part, values in self.values.items():
                mean = statistics.fmean(values)
                std = statistics.stdev(values) if len(values) > 1 else 0.0
                out[f"{self.prefix}window_mean_{part}"] = mean
                out[f"{self.prefix}window_std_{part}"] = std
                out[f"{self.prefix}window_stat_{part}"] = std if self.variant == 2 else mean + std
        self.values = {"cls": [], "reg": []}
        return out


@HOOKS.register_module()
class TrackerHook(Hook):
    """Rows are kept and handed to the trackers every `flush_every` iterations, before a
    checkpoint is saved, after training and at the end (as the run record's rows are:
    repro/job/hooks.py), so TensorBoard's writer thread wakes a few times per run, not
    at every iteration."""

    priority = "LOW"

    def __init__(self, trackers: list[str], run_dir: str, identity: dict, metric: str | None,
                 metric_key: str, windows: list[dict] = (), flush_every: int = 50) -> None:
        self.trackers, self.run_dir, self.identity = list(trackers), Path(run_dir), identity
        self.metric, self.metric_key = metric, metric_key
        self.windows = [_Window(**w) for w in windows]
        self.flush_every = flush_every
        self.backends: list = []
        self._rows: list[tuple[dict, int]] = []
        self._tags: dict[str, str] = {}

    # --- what the runner calls ------------------------------------------------------------

    def before_train(self, runner) -> None:
        if runner.rank != 0 or self.backends:
            return
        start = int(runner.iter)  # > 0: resumed from the checkpoint of that iteration
        self.backends = [self._backend(name, start, runner) for name in self.trackers]

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
        if not self.backends:
            return
        step = runner.iter + 1
        row = {k: float(v.detach() if hasattr(v, "detach") else v)
               for k, v in (outputs or {}).items()}
        for window in self.windows:
            row.update(window.add(step, row))
        row["lr"] = float(runner.optim_wrapper.get_lr()["lr"][0])
        self._rows.append(({self._tag(k): v for k, v in row.items()}, step))
        if len(self._rows) >= self.flush_every:
            self.flush()

    def before_save_checkpoint(self, runner, checkpoint) -> None:
        """Everything up to the checkpoint on disk: a run resumed from it goes on from
        there without a gap (TensorBoard writes from a thread of its own)."""
        self.flush()
        for backend in self.backends:
            getattr(backend, "sync", lambda: None)()

    def after_train(self, runner) -> None:
        self.flush()

    def after_test_epoch(self, runner, metrics=None) -> None:
        if not self.backends:
            return
        results = dict(metrics or {})
        row = {f"test/{k}": float(v) for k, v in results.items()
               if isinstance(v, (int, float)) and not isinstance(v, bool)}
        if self.metric is not None:
            value, _ = headline(results, self.metric_key)
            if value is not None:
                row[f"metric/{self.metric}"] = value
        if row:
            self._rows.append((row, int(runner.iter)))
            self.flush()

    def flush(self) -> None:
        rows, self._rows = self._rows, []
        for backend in self.backends:
            for row, step in rows:
                backend.add_scalars(row, step=step)

    def close(self) -> None:
        """Hand over what is kept and end every tracker's run (called once the run is
        over, ended or failed)."""
        self.flush()
        backends, self.backends = self.backends, []
        for backend in backends:
            backend.close()

    # --- helpers ----------------------------------------------------------------------------

    def _tag(self, key: str) -> str:
        name = self._tags.get(key)
        if name is None:
            name = self._tags[key] = tag(key)
        return name

    def _backend(self, name: str, start: int, runner):
        ident = self.identity
        run = f"{ident['cell']}/seed{ident['seed']}"
        if name == "tensorboard":
            backend = RunTensorboardVisBackend(str(self.run_dir),
                                               purge_step=start + 1 if start else None)
            backend.experiment.add_text("run", " | ".join(f"{k}: {v}" for k, v in ident.items()),
                                        start)
            return backend
        if name == "mlflow":
            backend = TableMLflowVisBackend(
                save_dir=str(self.run_dir.parents[1] / MLFLOW_DIR),
                exp_name=f"{ident['profile']}/{ident['table']}", run_name=run,
                tags={k: str(v) for k, v in ident.items()})
        else:  # wandb
            backend = WandbVisBackend(save_dir=str(self.run_dir), init_kwargs=dict(
                project=f"repro-{ident['profile']}-{ident['table']}", name=run,
                group=ident["cell"], mode="offline", config=ident))
        backend.add_config(runner.cfg)  # MLflow's close() stores the run's log files with it
        return backend
