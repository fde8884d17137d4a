"""`hydra/launcher=local` (conf/hydra/launcher/local.yaml): the sweep's jobs in worker
processes on this machine, through Hydra's joblib launcher, waiting for them.

Every job here is one process of the same shape, so a table's pending cells go out as
one batch (run `n_jobs` at a time) whatever their profiles ask of a cluster.
"""
from __future__ import annotations

import logging
from typing import Sequence

from repro.launch.launcher import Launched, Launcher, Resources

log = logging.getLogger("repro.launch")


class LocalWorkers(Launcher):
    name, waits = "local", True

    def __init__(self, hydra_launcher) -> None:
        self._hydra = hydra_launcher  # a configured hydra.plugins.launcher.Launcher
        self._next = 0  # Hydra numbers a sweep's jobs across its launch() calls

    def launch(self, batch: Sequence[Sequence[str]], resources: Resources) -> list[Launched]:
        from joblib.externals.loky.process_executor import TerminatedWorkerError

        start, self._next = self._next, self._next + len(batch)
        try:
            returns = self._hydra.launch([list(b) for b in batch], initial_job_idx=start)
        except TerminatedWorkerError as e:
            # A worker was killed (the OOM killer, a kill -9): joblib stops the batch. The
            # jobs whose records say how they ended are reported from them; the others
            # ended without one (lost: the sweep exits 1, the next launch resumes them).
            log.warning("a worker process died (%s): its batch ends without records",
                        str(e).splitlines()[0][:160])
            return [Launched() for _ in batch]
        return [Launched(returned=r) for r in returns]
