"""What a sweep prints, and where: plain lines in a log file or CI, and on a terminal the
same lines above a live progress bar (tqdm).

Hydra's own per-job launch lines are left out unless `verbose=true` (each job's
MMDetection output goes to its run folder's run.log then: repro/job/job_log.py).
"""
from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

# Loggers whose INFO lines list every launched job's overrides (Hydra's launchers).
LAUNCHER_LOGGERS = ("hydra_plugins.hydra_joblib_launcher", "hydra_plugins.hydra_submitit_launcher")


def quiet_launchers(verbose: bool) -> None:
    for name in LAUNCHER_LOGGERS:
        logging.getLogger(name).setLevel(logging.INFO if verbose else logging.WARNING)


def say(line: str) -> None:
    """One console line (above the progress bar when one is drawn)."""
    bar = Console.active
    if bar is not None and bar.bar is not None:
        bar.bar.write(line, file=sys.stdout)
    else:
        print(line, file=sys.stdout, flush=True)


def shown_path(path: Path | str) -> str:
    """A path as the user typed it: relative to the working directory when inside it."""
    path = Path(path)
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def wants_bar(verbose: bool, stream=None) -> bool:
    """A live bar on a terminal only (never in CI, a log file, or with verbose=true)."""
    stream = stream or sys.stdout
    return (not verbose and hasattr(stream, "isatty") and stream.isatty()
            and not os.environ.get("CI") and os.environ.get("TERM") != "dumb")


class Console:
    """The progress bar of one launch (None: plain lines only)."""

    active: "Console | None" = None

    def __init__(self, total: int, bar: bool) -> None:
        self.bar = None
        if bar and total:
            from tqdm import tqdm

            self.bar = tqdm(total=total, unit="job", file=sys.stdout, dynamic_ncols=True,
                            leave=False, desc="0 done, 0 failed",
                            bar_format="{desc} {percentage:3.0f}%|{bar}| {n}/{total} jobs "
                                       "[{elapsed}, about {remaining} left]")

    def __enter__(self) -> "Console":
        Console.active = self
        return self

    def advance(self, counts: str) -> None:
        if self.bar is not None:
            self.bar.set_description_str(counts, refresh=False)
            self.bar.update(1)

    def tick(self) -> None:
        """Redraw (the elapsed time moves on between two finished jobs)."""
        if self.bar is not None:
            self.bar.refresh()

    def __exit__(self, *exc) -> None:
        if self.bar is not None:
            self.bar.close()
        Console.active = None
