"""A real PostgreSQL server for the self-tests: Debian's binaries, started in a temp dir.

One server per test session (per xdist worker): ``initdb`` into a fresh directory, then
``postgres`` listening on a free loopback port and on a Unix socket in that directory, with
trust authentication for one user.  Each test gets its own database (:func:`postgres_url`).
When the process runs as root (the CI container), the server runs as the ``postgres`` user,
because PostgreSQL refuses to run as root.  Where no server binary is installed the tests that
need one skip, saying so; ``make test`` installs Debian's ``postgresql`` when it can.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from smokegate.ports import free_port

SEARCH = (Path("/usr/lib/postgresql/15/bin"), *sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True))
USER = "smokegate"
NO_SERVER = (
    "no PostgreSQL server binary (initdb, postgres) under /usr/lib/postgresql/*/bin: "
    "install Debian's postgresql package (make test does so when run as root)"
)


def server_binaries() -> Path | None:
    for folder in SEARCH:
        if (folder / "initdb").is_file() and (folder / "postgres").is_file() and (folder / "pg_ctl").is_file():
            return folder
    return None


@dataclass
class PostgresServer:
    root: Path
    port: int

    def url(self, database: str = "postgres") -> str:
        # Through the Unix socket in the server's own directory: nothing else can reach it.
        return f"postgresql://{USER}@/{database}?host={self.root}&port={self.port}"

    def create_database(self) -> str:
        import psycopg

        name = f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.url(), autocommit=True) as db:
            db.execute(f"CREATE DATABASE {name}")
        return self.url(name)


def _run(command: list[str], *, as_user: str | None, log: Path | None = None) -> None:
    done = subprocess.run(command, user=as_user, capture_output=True, text=True, timeout=120, check=False)
    if done.returncode != 0:
        tail = log.read_text(errors="replace")[-2000:] if log is not None and log.exists() else ""
        raise RuntimeError(f"{' '.join(command)} failed ({done.returncode}): {done.stdout}{done.stderr}{tail}")


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    binaries = server_binaries()
    if binaries is None:
        pytest.skip(NO_SERVER)
    as_user: str | None = None
    # A short path: the socket file's full name must fit in 107 bytes.
    root = Path(tempfile.mkdtemp(prefix="sg-pg-"))
    if os.geteuid() == 0:
        as_user = "postgres"
        try:
            account = pwd.getpwnam(as_user)
        except KeyError:
            pytest.skip("running as root and there is no 'postgres' user to run the PostgreSQL server as")
        os.chown(root, account.pw_uid, account.pw_gid)
    data, log = root / "data", root / "server.log"
    port = free_port()
    try:
        _run([str(binaries / "initdb"), "-D", str(data), "-U", USER, "--auth=trust", "-E", "UTF8", "--no-sync"],
             as_user=as_user)
        options = (
            f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off "
            "-c full_page_writes=off -c max_connections=60"
        )
        _run([str(binaries / "pg_ctl"), "-D", str(data), "-l", str(log), "-w", "-t", "60", "-o", options, "start"],
             as_user=as_user, log=log)
        yield PostgresServer(root, port)
    finally:
        if (data / "postmaster.pid").exists():
            subprocess.run([str(binaries / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"],
                           user=as_user, capture_output=True, timeout=60, check=False)
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> str:
    """A fresh, empty database on the session's server."""
    return postgres_server.create_database()
