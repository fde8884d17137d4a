"""A real one-node SLURM for the tests (../shared/docs/methods.md section 7).

Debian's `slurm-wlm` and `munge` run a cluster as root on loopback: `munged` with its own
key and socket, `slurmctld` and `slurmd` in the foreground (so this module holds their
process ids and stops exactly those), state and spool folders, logs and the config all
under one temporary folder, ports chosen free, accounting off. Clients (`sbatch`,
`squeue`, submitit, the jobs themselves) find it through `SLURM_CONF`.

    python tests/slurm_cluster.py         # start one by hand, print its SLURM_CONF, stop on Enter

Tests use the session fixture `slurm` (registered in conftest.py).
"""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

DAEMONS = ("munged", "slurmctld", "slurmd")
CLIENTS = ("sbatch", "squeue", "scontrol", "scancel", "sinfo", "srun")
PARTITION = "repro"


def missing() -> str | None:
    """Why a local SLURM cannot run here (None: it can)."""
    gone = [b for b in (*DAEMONS, *CLIENTS, "mungekey", "setpriv") if shutil.which(b) is None
            and not Path("/usr/sbin", b).exists()]
    if gone:
        return (f"SLURM binaries absent ({', '.join(gone)}): install Debian's slurm-wlm and "
                f"munge (bash scripts/install_slurm.sh, as .ci/run does)")
    if os.geteuid() != 0:
        return "a local SLURM needs root (slurmd runs jobs as their users)"
    return None


def _binary(name: str) -> str:
    return shutil.which(name) or str(Path("/usr/sbin", name))


def _free_ports(n: int) -> list[int]:
    socks = []
    try:
        for _ in range(n):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def stop_process(proc: subprocess.Popen, timeout: float) -> None:
    """SIGTERM, then SIGKILL after `timeout` seconds; reaped either way."""
    proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _memory_mb() -> int:
    with open("/proc/meminfo") as f:
        total_kb = next(int(line.split()[1]) for line in f if line.startswith("MemTotal"))
    return max(total_kb // 1024 - 1024, 512)


SLURM_CONF = """\
# A one-node test cluster (tests/slurm_cluster.py): loopback, root, no accounting.
ClusterName=reprotest
SlurmctldHost={host}(127.0.0.1)
SlurmctldPort={ctld_port}
SlurmdPort={d_port}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
# cred_expire: a requeued job waits this long before it may start again (default 120)
AuthInfo=socket={munge_socket},cred_expire=10
StateSaveLocation={root}/state
SlurmdSpoolDir={root}/spool
SlurmctldPidFile={root}/slurmctld.pid
SlurmdPidFile={root}/slurmd.pid
SlurmctldLogFile={root}/log/slurmctld.log
SlurmdLogFile={root}/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
{accounting}
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
MpiDefault=none
SchedulerType=sched/backfill
ReturnToService=2
KillWait=5
MinJobAge=600
NodeName={host} NodeAddr=127.0.0.1 CPUs={cpus} RealMemory={memory} State=UNKNOWN
PartitionName={partition} Nodes={host} Default=YES MaxTime=INFINITE State=UP
"""


class LocalSlurm:
    def __init__(self, root: Path | None = None) -> None:
        self.root = Path(root or tempfile.mkdtemp(prefix="repro-slurm-"))
        self.conf = self.root / "slurm.conf"
        self.host = socket.gethostname().split(".")[0]
        self.partition = PARTITION
        self.cpus = os.cpu_count() or 1
        self._procs: dict[str, subprocess.Popen] = {}

    @property
    def env(self) -> dict[str, str]:
        return {"SLURM_CONF": str(self.conf)}

    def run(self, *cmd: str, check: bool = True, timeout: float = 60) -> str:
        out = subprocess.run(list(cmd), capture_output=True, text=True, timeout=timeout,
                             env={**os.environ, **self.env})
        if check and out.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} -> {out.returncode}: {out.stderr.strip()}")
        return out.stdout

    def start(self, timeout: float = 60) -> "LocalSlurm":
        os.chmod(self.root, 0o755)  # munged (user munge) must reach its folder
        for sub in ("state", "spool", "log", "munge"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        munge = self.root / "munge"
        key = munge / "munge.key"
        subprocess.run(["mungekey", "--create", f"--keyfile={key}", "--force"], check=True,
                       capture_output=True)
        shutil.chown(munge, "munge", "munge")
        shutil.chown(key, "munge", "munge")
        os.chmod(munge, 0o755)
        os.chmod(key, 0o600)
        socket_path = munge / "munge.socket"
        self._spawn("munged", ["setpriv", "--reuid=munge", "--regid=munge", "--init-groups",
                               _binary("munged"), "--foreground",
                               f"--socket={socket_path}", f"--key-file={key}",
                               f"--pid-file={munge / 'munged.pid'}",
                               f"--log-file={munge / 'munged.log'}",
                               f"--seed-file={munge / 'munged.seed'}"])
        self._wait(lambda: socket_path.exists(), timeout, "munged did not open its socket")
        ctld_port, d_port = _free_ports(2)
        self.conf.write_text(SLURM_CONF.format(
            host=self.host, ctld_port=ctld_port, d_port=d_port, root=self.root,
            munge_socket=socket_path, cpus=self.cpus, memory=_memory_mb(),
            partition=self.partition, accounting=self.accounting(socket_path)))
        self.before_slurmctld()
        self._spawn("slurmctld", [_binary("slurmctld"), "-D", "-i", "-f", str(self.conf)])
        self._spawn("slurmd", [_binary("slurmd"), "-D", "-f", str(self.conf)])
        self._wait(self._node_ready, timeout, "the node never became idle")
        return self

    def accounting(self, munge_socket: Path) -> str:
        """slurm.conf's accounting lines: none (tests/test_accounting.py adds a slurmdbd)."""
        return "AccountingStorageType=accounting_storage/none"

    def before_slurmctld(self) -> None:
        """Called once munged runs and slurm.conf is written (a slurmdbd starts here)."""

    def _spawn(self, name: str, cmd: list[str]) -> None:
        log = open(self.root / "log" / f"{name}.out", "w")
        self._procs[name] = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT,
                                             env={**os.environ, **self.env},
                                             start_new_session=True)

    def _node_ready(self) -> bool:
        for name, proc in self._procs.items():
            if proc.poll() is not None:
                raise RuntimeError(f"{name} exited ({proc.returncode}); see "
                                   f"{self.root / 'log'}")
        try:
            state = self.run("sinfo", "-h", "-o", "%T", check=False, timeout=10).strip()
        except subprocess.TimeoutExpired:
            return False
        return state in ("idle", "mixed", "allocated")

    def _wait(self, ready, timeout: float, what: str) -> None:
        deadline = time.time() + timeout
        while not ready():
            if time.time() > deadline:
                self.stop()
                raise RuntimeError(f"local SLURM: {what} within {timeout:.0f} s "
                                   f"(logs: {self.root / 'log'})")
            time.sleep(0.2)

    # --- what tests ask of it ---------------------------------------------------------

    def jobs(self) -> list[dict]:
        """Every job slurmctld still knows (running, pending, or ended within MinJobAge)."""
        out = self.run("squeue", "-h", "-t", "all", "-o", "%i|%T|%j")
        return [dict(zip(("id", "state", "name"), line.split("|"))) for line in out.splitlines()]

    def job_state(self, job_id: str) -> str | None:
        out = self.run("scontrol", "show", "job", job_id, check=False)
        for word in out.split():
            if word.startswith("JobState="):
                return word.split("=", 1)[1]
        return None

    def wait_idle(self, timeout: float = 300) -> None:
        """Until no job is pending or running."""
        deadline = time.time() + timeout
        while self.run("squeue", "-h", "-o", "%i").strip():
            if time.time() > deadline:
                raise TimeoutError(f"jobs still queued after {timeout:.0f} s:\n"
                                   + self.run("squeue"))
            time.sleep(0.5)

    def cancel_all(self) -> None:
        ids = self.run("squeue", "-h", "-o", "%i", check=False).split()
        if ids:
            self.run("scancel", *ids, check=False)

    def stop(self) -> None:
        if "slurmctld" in self._procs and self._procs["slurmctld"].poll() is None:
            self.cancel_all()
            try:
                self.wait_idle(timeout=30)
            except (TimeoutError, RuntimeError, subprocess.TimeoutExpired):
                pass
        for name in ("slurmd", "slurmctld", "munged"):  # clients first, munge last
            proc = self._procs.pop(name, None)
            if proc is None or proc.poll() is not None:
                continue
            stop_process(proc, timeout=20)


@pytest.fixture(scope="session")
def slurm():
    """The session's one-node SLURM (started on first use, stopped at the end). Skipped
    where the binaries are absent, unless REPRO_REQUIRE_SLURM is set (CI sets it)."""
    reason = missing()
    if reason:
        if os.environ.get("REPRO_REQUIRE_SLURM"):
            pytest.fail(f"REPRO_REQUIRE_SLURM is set, but {reason}")
        pytest.skip(reason)
    cluster = LocalSlurm().start()
    try:
        yield cluster
    finally:
        cluster.stop()
        shutil.rmtree(cluster.root, ignore_errors=True)


if __name__ == "__main__":
    reason = missing()
    if reason:
        raise SystemExit(reason)
    cluster = LocalSlurm().start()
    print(f"export SLURM_CONF={cluster.conf}")
    try:
        input("running; Enter stops it\n")
    finally:
        cluster.stop()
