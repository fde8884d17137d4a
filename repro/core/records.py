"""A run's record: status.json, metrics.json, provenance.json, written atomically.

The record is the truth about a run (not the launcher, not SLURM): `done`, `failed`
with a reason class, or `running` (repro/core/outcomes.py names every outcome). Readers
never see a half-written file because every write goes to a temporary file in the same
folder, is fsynced, renamed into place, and the folder's entry fsynced too: a node crash
leaves the old record or the new one, never an empty file. On a full disk the write fails before the rename, so the record it would
have replaced stays as it was.

Appended records (`scalars.jsonl`) are written line by line with one `write` and an
fsync per flush; a kill can still leave a torn last line, which `read_jsonl` drops.
"""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from repro.core.outcomes import DONE, FAILED, RUNNING  # noqa: F401 - the record's states

STATUS, METRICS, PROVENANCE = "status.json", "metrics.json", "provenance.json"

_UMASK = os.umask(0)
os.umask(_UMASK)


def write_json(path: Path, obj: Any) -> None:
    replace_file(path, json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n")


def replace_file(path: Path, text: str) -> None:
    """Write `text` to a temporary file beside `path`, fsync it, rename it over `path` and
    fsync the folder: a reader sees the old file or the new one, never a torn one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        os.fchmod(fd, 0o666 & ~_UMASK)  # mkstemp makes 0600; records are shared reading
        with os.fdopen(fd, "w") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise
    sync_dir(path.parent)


def sync_dir(folder: Path) -> None:
    """fsync a folder, so that a rename or a new file in it survives a crash."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def append_lines(path: Path, lines: list[str]) -> None:
    """Append whole lines in one write, fsynced (a kill leaves at most a torn last line)."""
    if not lines:
        return
    data = ("\n".join(lines) + "\n").encode()
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
    try:
        while data:
            data = data[os.write(fd, data):]
        os.fsync(fd)
    finally:
        os.close(fd)


def read_jsonl(path: Path) -> list[dict]:
    """The rows of a JSON-lines record; a torn last line (a write a kill cut short) is
    dropped, a line torn anywhere else is an error (the file was damaged otherwise)."""
    with open(path, "rb") as f:
        lines = f.read().split(b"\n")
    rows = []
    for i, line in enumerate(lines):
        if not line.strip():
            continue
        try:
            rows.append(json.loads(line))
        except ValueError:
            if any(rest.strip() for rest in lines[i + 1:]):
                raise ValueError(f"{path}: line {i + 1} is not JSON (the file is damaged; "
                                 f"delete the run folder to run the cell afresh)") from None
            break  # the torn tail of an interrupted append
    return rows


def read_json(path: Path) -> dict | None:
    """The parsed file, or None where it is missing or unreadable."""
    try:
        with open(path) as f:
            obj = json.load(f)
    except (OSError, ValueError):
        return None
    return obj if isinstance(obj, dict) else None


def read_status(run_dir: Path) -> dict | None:
    return read_json(Path(run_dir) / STATUS)


def is_done(run_dir: Path) -> bool:
    status = read_status(run_dir)
    return bool(status) and status.get("state") == DONE
