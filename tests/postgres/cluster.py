"""Throwaway PostgreSQL servers on a loopback port, for the test suite and its CI run.

As a program, ``python -m tests.postgres.cluster COMMAND...`` runs COMMAND with
``METERLIB_TEST_POSTGRES_URL`` pointing at a server of its own, and stops that server afterwards
whatever the command did (its exit status is the command's). Given a URL already, it runs the
command untouched. Without PostgreSQL's binaries it installs them (``apt-get install -y
postgresql``) when it runs as root; otherwise the command runs without a server, and the
PostgreSQL tests skip saying why (under ``CI=true`` they fail instead).

As a module, `Cluster` is a server a test owns, so that it can SIGKILL it and start it again.
``initdb`` refuses to run as root, so as root the server runs as the ``postgres`` user.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

URL_VARIABLE = "METERLIB_TEST_POSTGRES_URL"
"""The environment variable naming the server the PostgreSQL tests use."""

SETTINGS = (
    # durable against a killed process (commits still wait for the WAL write to the kernel);
    # only a power loss could lose what fsync would have kept, and a test server has none
    "fsync=off",
    "full_page_writes=off",
    "max_connections=100",
    "shared_buffers=128MB",
    "log_min_messages=fatal",
)


def binaries() -> Path | None:
    """The newest ``/usr/lib/postgresql/*/bin`` holding ``initdb``, or None."""
    found = sorted(
        (Path(path).parent for path in glob.glob("/usr/lib/postgresql/*/bin/initdb")),
        key=lambda path: int(path.parent.name) if path.parent.name.isdigit() else 0,
    )
    return found[-1] if found else None


def install() -> Path | None:
    """Install PostgreSQL's server with apt-get when its binaries are missing and we are root."""
    if binaries() is None and os.geteuid() == 0 and shutil.which("apt-get"):
        environment = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        for command in (
            ["apt-get", "update", "-q"],
            ["apt-get", "install", "-y", "-q", "postgresql"],
        ):
            subprocess.run(command, check=False, env=environment, stdout=subprocess.DEVNULL)
    return binaries()


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Cluster:
    """A PostgreSQL server in a temporary directory, on 127.0.0.1, trusting local connections.

    >>> Cluster.__name__
    'Cluster'
    """

    def __init__(self, bin_dir: Path, *, port: int | None = None) -> None:
        self.bin_dir = bin_dir
        self.port = port or free_port()
        self.root = Path(tempfile.mkdtemp(prefix="meterlib-pg-"))
        self.data = self.root / "data"
        self.user = "postgres" if os.geteuid() == 0 else pwd.getpwuid(os.geteuid()).pw_name
        if os.geteuid() == 0:
            shutil.chown(self.root, user="postgres")
        self.url = f"postgresql://{self.user}@127.0.0.1:{self.port}/postgres"

    def _run(self, *command: str) -> subprocess.CompletedProcess[str]:
        """Run one of PostgreSQL's programs (as ``postgres`` when we are root)."""
        argv = [str(self.bin_dir / command[0]), *command[1:]]
        if os.geteuid() == 0:
            argv = ["runuser", "-u", "postgres", "--", *argv]
        return subprocess.run(argv, capture_output=True, text=True, check=False, cwd=self.root)

    def _check(self, result: subprocess.CompletedProcess[str], what: str) -> None:
        if result.returncode != 0:
            raise RuntimeError(
                f"{what} failed ({result.returncode}):\n{result.stdout}{result.stderr}"
            )

    def init(self) -> Cluster:
        """``initdb`` the data directory (trust authentication, UTF-8)."""
        result = self._run(
            "initdb", "-D", str(self.data), "-A", "trust", "-E", "UTF8", "--no-sync",
            "-U", self.user,
        )  # fmt: skip
        self._check(result, "initdb")
        return self

    def start(self) -> Cluster:
        """Start the server and wait until it accepts connections."""
        options = " ".join(
            [f"-p {self.port}", "-c listen_addresses=127.0.0.1", f"-k {self.root}"]
            + [f"-c {setting}" for setting in SETTINGS]
        )
        result = self._run(
            "pg_ctl", "-D", str(self.data), "-l", str(self.root / "server.log"), "-o", options,
            "-w", "-t", "60", "start",
        )  # fmt: skip
        if result.returncode != 0:
            log = (self.root / "server.log").read_text(errors="replace")[-2_000:]
            raise RuntimeError(f"pg_ctl start failed:\n{result.stdout}{result.stderr}\n{log}")
        return self

    def postmaster_pid(self) -> int:
        """The running postmaster's process id (the first line of ``postmaster.pid``)."""
        return int((self.data / "postmaster.pid").read_text().split()[0])

    def kill(self) -> None:
        """SIGKILL the postmaster, then its surviving backends: a crash, with no shutdown."""
        pid = self.postmaster_pid()
        children = _children(pid)
        os.kill(pid, signal.SIGKILL)
        for child in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(child, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while any(_alive(process) for process in [pid, *children]):
            if time.monotonic() > deadline:
                raise RuntimeError("the killed server's processes did not exit")
            time.sleep(0.01)
        # a killed postmaster nobody reaps stays a zombie (a container's PID 1 may never reap),
        # and PostgreSQL takes a live PID in a lock file for a running server: the lock files
        # go, as an operator would remove them after a crash
        (self.data / "postmaster.pid").unlink(missing_ok=True)
        (self.root / f".s.PGSQL.{self.port}.lock").unlink(missing_ok=True)

    def stop(self) -> None:
        """Stop the server at once (no checkpoint), if it runs."""
        if (self.data / "postmaster.pid").exists():
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")

    def destroy(self) -> None:
        """Stop the server and delete its directory."""
        try:
            self.stop()
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


def _children(pid: int) -> list[int]:
    """The processes whose parent is `pid` (read from /proc)."""
    children = []
    for status in glob.glob("/proc/[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            fields = Path(status).read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) == pid:
                children.append(int(Path(status).parent.name))
    return children


def _alive(pid: int) -> bool:
    """Whether `pid` runs (a zombie counts as gone)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def main(argv: list[str]) -> int:
    """Run `argv` with a throwaway server unless ``METERLIB_TEST_POSTGRES_URL`` names one."""
    if not argv:
        print("usage: python -m tests.postgres.cluster COMMAND...", file=sys.stderr)
        return 2
    if os.environ.get(URL_VARIABLE):
        return subprocess.call(argv)
    bin_dir = install()
    if bin_dir is None:
        print(
            f"no PostgreSQL binaries: {URL_VARIABLE} unset, the PostgreSQL tests skip",
            file=sys.stderr,
        )
        return subprocess.call(argv)
    cluster = Cluster(bin_dir)
    try:
        cluster.init().start()
        print(f"PostgreSQL {bin_dir.parent.name} for the tests at {cluster.url}", file=sys.stderr)
        environment = {**os.environ, URL_VARIABLE: cluster.url}
        return subprocess.call(argv, env=environment)
    finally:
        cluster.destroy()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
