"""The one-node test SLURM (tests/slurm_cluster.py) with accounting: a MariaDB server and
a slurmdbd of its own, under the cluster's folder, on free loopback ports, stopped with
it. Debian's `slurmdbd` and `mariadb-server` (not part of scripts/install_slurm.sh): the
fixture `accounted_slurm` skips where they are absent, unless REPRO_REQUIRE_SLURM_DB is
set."""
from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from slurm_cluster import LocalSlurm, _free_ports, missing, stop_process

DB_BINARIES = ("mariadb-install-db", "mariadbd", "mariadb", "slurmdbd", "sacctmgr", "sacct")


def missing_db() -> str | None:
    gone = [b for b in DB_BINARIES if shutil.which(b) is None and not Path("/usr/sbin", b).exists()]
    if gone:
        return (f"SLURM accounting binaries absent ({', '.join(gone)}): apt-get install "
                f"slurmdbd mariadb-server")
    return None


def _bin(name: str) -> str:
    return shutil.which(name) or str(Path("/usr/sbin", name))


class AccountedSlurm(LocalSlurm):
    def __init__(self, root: Path | None = None) -> None:
        super().__init__(root)
        self.db = self.root / "db"
        self.db_port, self.dbd_port = _free_ports(2)
        self._db_procs: list[subprocess.Popen] = []

    def accounting(self, munge_socket: Path) -> str:
        return (f"AccountingStorageType=accounting_storage/slurmdbd\n"
                f"AccountingStorageHost=127.0.0.1\nAccountingStoragePort={self.dbd_port}\n"
                f"AccountingStoragePass={munge_socket}")  # the munge socket slurmdbd shares

    def before_slurmctld(self) -> None:
        """MariaDB, a user for slurmdbd, slurmdbd, and the cluster registered in it (before
        slurmctld starts: it asks slurmdbd for the cluster's resources)."""
        try:
            self._start_db()
        except BaseException:
            self.stop()
            raise

    def _start_db(self) -> None:
        self.db.mkdir(parents=True, exist_ok=True)
        log = open(self.root / "log" / "db.out", "w")
        subprocess.run([_bin("mariadb-install-db"), "--user=root", f"--datadir={self.db / 'data'}",
                        "--auth-root-authentication-method=normal"], check=True, stdout=log,
                       stderr=subprocess.STDOUT)
        sock = self.db / "mysql.sock"
        self._db_procs.append(subprocess.Popen(
            [_bin("mariadbd"), "--user=root", f"--datadir={self.db / 'data'}", f"--socket={sock}",
             "--bind-address=127.0.0.1", f"--port={self.db_port}",
             f"--pid-file={self.db / 'mariadbd.pid'}", f"--log-error={self.root / 'log' / 'db.err'}"],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True))
        self._wait(lambda: sock.exists(), 60, "MariaDB did not open its socket")
        subprocess.run([_bin("mariadb"), f"--socket={sock}", "-uroot", "-e",
                        "CREATE USER 'slurm'@'127.0.0.1' IDENTIFIED BY 'slurm'; "
                        "GRANT ALL ON *.* TO 'slurm'@'127.0.0.1'; FLUSH PRIVILEGES;"], check=True)
        munge = self.root / "munge" / "munge.socket"
        conf = self.root / "slurmdbd.conf"  # slurmdbd reads it beside SLURM_CONF
        conf.write_text(f"DbdHost=localhost\nDbdAddr=127.0.0.1\nDbdPort={self.dbd_port}\n"
                        f"SlurmUser=root\nAuthType=auth/munge\nAuthInfo=socket={munge}\n"
                        f"StorageType=accounting_storage/mysql\nStorageHost=127.0.0.1\n"
                        f"StoragePort={self.db_port}\nStorageUser=slurm\nStoragePass=slurm\n"
                        f"StorageLoc=slurm_acct_db\nLogFile={self.root / 'log' / 'slurmdbd.log'}\n"
                        f"PidFile={self.root / 'slurmdbd.pid'}\n")
        os.chmod(conf, 0o600)
        self._db_procs.append(subprocess.Popen(
            [_bin("slurmdbd"), "-D"], env={**os.environ, **self.env}, stdout=log,
            stderr=subprocess.STDOUT, start_new_session=True))
        self._wait(lambda: subprocess.run(
            ["sacctmgr", "-i", "add", "cluster", "reprotest"], capture_output=True,
            env={**os.environ, **self.env}, timeout=30).returncode == 0, 90,
            "slurmdbd did not take the cluster")

    def stop(self) -> None:
        super().stop()
        for proc in reversed(self._db_procs):  # slurmdbd, then MariaDB
            if proc.poll() is None:
                stop_process(proc, timeout=30)
        self._db_procs.clear()

    def accounted(self, job: str, word: str, timeout: float = 60) -> None:
        """Until slurmdbd has the job's allocation in `word` (it is told asynchronously)."""
        deadline = time.time() + timeout
        while word not in self.run("sacct", "-n", "-P", "-X", "-o", "State", "-j", job):
            if time.time() > deadline:
                raise TimeoutError(f"sacct never said {word} for job {job}")
            time.sleep(0.5)


@pytest.fixture(scope="module")
def accounted_slurm():
    reason = missing() or missing_db()
    if reason:
        if os.environ.get("REPRO_REQUIRE_SLURM_DB"):
            pytest.fail(f"REPRO_REQUIRE_SLURM_DB is set, but {reason}")
        pytest.skip(reason)
    cluster = AccountedSlurm().start(timeout=120)
    try:
        yield cluster
    finally:
        cluster.stop()
        shutil.rmtree(cluster.root, ignore_errors=True)
