"""A throwaway PostgreSQL cluster on loopback, for tests, benchmarks and ``juki network
up --postgres``: ``initdb`` and ``pg_ctl`` from the server's packages (Debian's
``postgresql``) in a directory of its own, removed by :meth:`Cluster.stop`.

The cluster listens on 127.0.0.1 only, on a free port, with trust authentication for
its one user ``juki`` (nothing but loopback can reach it); its socket directory is its
own. ``initdb`` refuses to run as root, so under root the cluster belongs to the
``postgres`` account that the package creates.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

USER = "juki"

_WATCHER = """
import os, shutil, subprocess, sys, time
pid, root, cmd = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
while True:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        break
    time.sleep(1)
subprocess.run(cmd, capture_output=True, check=False)
if root:
    shutil.rmtree(root, ignore_errors=True)
"""


class ClusterError(RuntimeError):
    """The PostgreSQL server's programs are missing or the cluster did not start."""


def server_bin() -> Path:
    """The directory of ``initdb`` and ``pg_ctl`` (PATH first, then Debian's layout)."""
    found = shutil.which("initdb")
    if found:
        return Path(found).parent
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                      key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit()
                      else 0)
    if not versions:
        raise ClusterError("PostgreSQL's server programs (initdb, pg_ctl) are not "
                           "installed; on Debian: apt-get install postgresql")
    return Path(versions[-1]).parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Cluster:
    """A PostgreSQL cluster in ``directory`` (a new temporary one by default)."""

    def __init__(self, directory: Path | None = None) -> None:
        self.bin = server_bin()
        self._own_dir = directory is None
        self.root = Path(directory or tempfile.mkdtemp(prefix="juki-pg-"))
        self.data = self.root / "data"
        self.port = _free_port()
        self._as: str | None = None
        if os.geteuid() == 0:
            self._as = "postgres"
            pw = pwd.getpwnam("postgres")
            os.chown(self.root, pw.pw_uid, pw.pw_gid)
            os.chmod(self.root, 0o700)

    @property
    def url(self) -> str:
        """The URL of the cluster's ``postgres`` database."""
        return f"postgresql://{USER}@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str) -> subprocess.CompletedProcess[str]:
        cmd = [str(self.bin / args[0]), *args[1:]]
        if self._as:
            cmd = ["runuser", "-u", self._as, "--", *cmd]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120,
                              check=False)
        if proc.returncode != 0:
            raise ClusterError(f"{args[0]} failed: {proc.stderr.strip()[-800:]}")
        return proc

    def start(self) -> Cluster:
        """Create the cluster and start its server; returns self."""
        self._run("initdb", "-D", str(self.data), "-U", USER, "-A", "trust",
                  "-E", "UTF8", "--locale=C.UTF-8", "--no-instructions")
        options = (f"-c listen_addresses=127.0.0.1 -c port={self.port} "
                   f"-c unix_socket_directories={self.root} -c max_connections=200 "
                   f"-c shared_buffers=128MB")
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.root / "server.log"),
                  "-o", options, "-w", "-t", "60", "start")
        return self

    def watch(self, pid: int | None = None) -> None:
        """Stop and remove the cluster when process ``pid`` (default: this one) ends,
        however it ends (``os._exit``, kill -9): a detached watcher polls it each
        second. For test processes that may not run their exit handlers."""
        cmd = [str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop"]
        if self._as:
            cmd = ["runuser", "-u", self._as, "--", *cmd]
        subprocess.Popen(
            [sys.executable, "-c", _WATCHER, str(pid or os.getpid()),
             str(self.root) if self._own_dir else "", *cmd],
            start_new_session=True, stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def stop(self) -> None:
        """Stop the server (fast shutdown) and remove the cluster's directory."""
        try:
            if (self.data / "postmaster.pid").exists():
                self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")
        finally:
            if self._own_dir:
                shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> Cluster:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


__all__ = ["USER", "Cluster", "ClusterError", "server_bin"]
