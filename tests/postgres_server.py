"""A real PostgreSQL server for store tests: started in a temp folder on 127.0.0.1, skipped when not installed.

`postgres_url` is one server for the whole session; `PostgresServer` is one a test owns, to stop and start again
(a database that goes down and comes back on the same port, with its data), or to `freeze` and `thaw` (a server that
still accepts connections in the kernel and never answers: its processes stopped with SIGSTOP).
"""

from __future__ import annotations

import glob
import os
import shutil
import signal
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, make_url

from tests.deskbot_process import free_port


def _postgres_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


class PostgresServer:
    """A fresh cluster with a `deskbot` database, in a temp folder; `start`, `stop`, `start` again, `remove`."""

    def __init__(self) -> None:
        pytest.importorskip("psycopg")
        bin_dir = _postgres_bin()
        if bin_dir is None:
            pytest.skip("PostgreSQL binaries (initdb, pg_ctl) are not installed")
        self._bin = bin_dir
        self._folder = Path(tempfile.mkdtemp(prefix="deskbot-pg-"))
        self._as_user: list[str] = []
        self._frozen: list[int] = []  # the pids stopped by `freeze`
        if os.geteuid() == 0:  # initdb refuses to run as root
            shutil.chown(self._folder, "postgres")
            self._as_user = ["runuser", "-u", "postgres", "--"]
        self._data, self.port = self._folder / "data", free_port()
        self.url = f"postgresql+psycopg://deskbot@127.0.0.1:{self.port}/deskbot"
        self._run("initdb", "-D", str(self._data), "-U", "deskbot", "--auth=trust", "-E", "UTF8")
        self.start()
        try:
            self._run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "deskbot", "deskbot")
        except BaseException:
            self.remove()
            raise

    def _run(self, tool: str, *args: str, check: bool = True) -> None:
        subprocess.run([*self._as_user, str(self._bin / tool), *args], check=check, capture_output=True)

    def start(self) -> None:
        options = f"-h 127.0.0.1 -p {self.port} -k {self._folder} -F"
        self._run("pg_ctl", "-D", str(self._data), "-o", options, "-l", str(self._folder / "log"), "-w", "start")

    def stop(self, check: bool = True) -> None:
        self._run("pg_ctl", "-D", str(self._data), "-m", "immediate", "-w", "stop", check=check)

    def freeze(self) -> None:
        """Stop the postmaster, then every backend it had forked (none can be forked after)."""
        postmaster = int((self._data / "postmaster.pid").read_text().split()[0])
        os.kill(postmaster, signal.SIGSTOP)
        listed = subprocess.run(["pgrep", "-P", str(postmaster)], check=False, capture_output=True, text=True)
        children = listed.stdout.split()  # none: pgrep exits 1
        self._frozen = [postmaster, *map(int, children)]
        for pid in self._frozen[1:]:
            os.kill(pid, signal.SIGSTOP)

    def thaw(self) -> None:
        for pid in self._frozen:
            os.kill(pid, signal.SIGCONT)
        self._frozen = []

    def remove(self) -> None:
        self.thaw()
        self.stop(check=False)
        shutil.rmtree(self._folder, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    server = PostgresServer()
    try:
        yield server.url
    finally:
        server.remove()


@contextmanager
def database_of_its_own(postgres_url: str, prefix: str) -> Iterator[str]:
    """The URL of a new, empty database `<prefix>_<random>` on the test PostgreSQL, dropped afterwards, so that no
    other test's rows (queued jobs, workers) are in it."""
    server = make_url(postgres_url)
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with admin.connect() as connection:
        connection.exec_driver_sql(f"CREATE DATABASE {name}")
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f"DROP DATABASE {name} WITH (FORCE)")
        admin.dispose()
