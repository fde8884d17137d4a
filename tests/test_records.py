"""Durable records: a writer killed at any moment leaves every record readable.

status.json is replaced atomically (temporary file, fsync, rename, fsync of the folder),
so a reader finds the old record or the new one, never a torn or empty one; scalars.jsonl
is appended with one write per flush, and a torn last line is dropped on read.
"""
import errno
import json
import os
import random
import signal
import subprocess
import sys
import time

import pytest

from conftest import ROOT, tmpfs
from repro.core import records

WRITER = """
import sys
from pathlib import Path
from repro.core import records
d = Path(sys.argv[1])
i = 0
while True:
    i += 1
    if i == 2:
        print("ready", flush=True)
    records.write_json(d / "status.json", {"n": i, "pad": "x" * 20000})
    records.append_lines(d / "scalars.jsonl",
                         [f'{{"iter": {i}, "pad": "{"y" * 3000}"}}' for _ in range(8)])
"""


def test_a_writer_killed_at_random_moments_leaves_readable_records(tmp_path):
    rng = random.Random(12)
    last = 0
    for attempt in range(8):
        writer = subprocess.Popen([sys.executable, "-c", WRITER, str(tmp_path)], cwd=ROOT,
                                  stdout=subprocess.PIPE, text=True)
        assert writer.stdout.readline().strip() == "ready"
        time.sleep(rng.uniform(0.01, 0.15))
        writer.send_signal(signal.SIGKILL)
        writer.wait()
        status = records.read_json(tmp_path / records.STATUS)
        assert status is not None and status["pad"] == "x" * 20000  # whole, never torn
        rows = records.read_jsonl(tmp_path / "scalars.jsonl")
        assert rows and all(r["pad"] == "y" * 3000 for r in rows)  # whole rows only
        assert len(rows) >= last + 8  # this attempt's flushes are all there
        last = len(rows)
        # Only whole rows or one torn tail: repair it the way a resume does.
        with open(tmp_path / "scalars.jsonl", "w") as f:
            f.writelines(json.dumps(r) + "\n" for r in rows)
    assert last > 0


def test_a_torn_last_line_is_dropped_and_a_damaged_middle_is_named(tmp_path):
    path = tmp_path / "scalars.jsonl"
    path.write_text('{"iter": 1}\n{"iter": 2}\n{"iter": 3, "lo')
    assert records.read_jsonl(path) == [{"iter": 1}, {"iter": 2}]
    path.write_text('{"iter": 1}\n{"it\n{"iter": 3}\n')
    with pytest.raises(ValueError, match="line 2 is not JSON"):
        records.read_jsonl(path)


@pytest.fixture
def small_disk(tmp_path):
    """A 256 KiB tmpfs: a disk that really fills."""
    with tmpfs(tmp_path / "disk", "size=256k") as mnt:
        yield mnt


def fill(folder):
    fd = os.open(folder / "filler", os.O_WRONLY | os.O_CREAT)
    try:
        while True:
            os.write(fd, b"\0" * 4096)
    except OSError as e:
        assert e.errno == errno.ENOSPC
    finally:
        os.close(fd)


def test_a_write_to_a_full_disk_leaves_the_record_it_would_replace(small_disk):
    records.write_json(small_disk / records.STATUS, {"state": "running"})
    fill(small_disk)
    with pytest.raises(OSError) as failed:
        records.write_json(small_disk / records.STATUS, {"state": "done", "pad": "x" * 65536})
    assert failed.value.errno == errno.ENOSPC
    assert records.read_status(small_disk) == {"state": "running"}
    assert sorted(p.name for p in small_disk.iterdir()) == ["filler", records.STATUS]


def test_truncate_record_keeps_rows_up_to_the_resume_point_and_drops_a_torn_line(tmp_path):
    from repro.job.hooks import truncate_record

    path = tmp_path / "scalars.jsonl"
    path.write_text("".join(json.dumps({"iter": i, "loss": i / 10}) + "\n" for i in (1, 2, 3))
                    + '{"iter": 4, "lo')
    truncate_record(path, 2)
    assert path.read_text() == '{"iter": 1, "loss": 0.1}\n{"iter": 2, "loss": 0.2}\n'
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp left
