"""A throwaway PostgreSQL server for the tests: the distribution's own binaries, a fresh cluster in a
temporary folder, listening on 127.0.0.1 on a free port, stopped and deleted at the end.

Why a real server: the catalog's PostgreSQL code (migrations, full-text and trigram search, per-field
updates, copy in and out) is only proven by PostgreSQL itself. ``initdb`` refuses to run as root (CI runs
as root), so as root the cluster is created and run as the ``postgres`` system user that the package
creates. Password authentication (SCRAM) is on for TCP, so the tests exercise the password path the users
take; the password is known only to this process.

Where the binaries are missing the tests that need them are skipped with the reason, unless
``ATELIER_REQUIRE_POSTGRES=1`` (set by ``.ci/run``; ``scripts/test.sh`` installs the server when run
as root): then a missing server is an error, so CI can never pass without running them.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shlex
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

REQUIRE_ENV = "ATELIER_REQUIRE_POSTGRES"
USER = "atelier_test"


def find_bin_dir() -> Path | None:
    """The folder of ``initdb``/``pg_ctl``: on PATH, else Debian's versioned folder (newest first)."""
    on_path = shutil.which("initdb")
    if on_path:
        return Path(on_path).parent
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parts[-3]))
    return versions[-1].parent if versions else None


@dataclass(frozen=True)
class PgServer:
    host: str
    port: int
    user: str
    password: str
    data_dir: Path
    bin_dir: Path

    def url(self, database: str = "postgres", *, with_password: bool = True) -> str:
        secret = f":{self.password}" if with_password else ""
        return f"postgresql+psycopg://{self.user}{secret}@{self.host}:{self.port}/{database}"

    def create_database(self, name: str, *, template: str | None = None) -> str:
        """A new database, empty or a copy of ``template``; its URL (with the password)."""
        import psycopg

        with psycopg.connect(self._dsn("postgres"), autocommit=True) as connection:
            copy = f' TEMPLATE "{template}"' if template else ""
            connection.execute(f'CREATE DATABASE "{name}"{copy}'.encode())
        return self.url(name)

    def drop_database(self, name: str) -> None:
        import psycopg

        with psycopg.connect(self._dsn("postgres"), autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'.encode())

    def _dsn(self, database: str) -> str:
        return (
            f"host={self.host} port={self.port} user={self.user} password={self.password} dbname={database}"
        )


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _as_server_user(command: list[str]) -> list[str]:
    """``command`` run as ``postgres`` when we are root (initdb and postgres refuse root)."""
    if os.geteuid() != 0:
        return command
    return ["runuser", "-u", "postgres", "--", *command]


def start(bin_dir: Path, *, shared_buffers: str = "32MB") -> PgServer:
    """Create and start a cluster; the caller stops it with :func:`stop`. The tests' cluster keeps a small
    buffer cache; a benchmark asks for PostgreSQL's own default (128MB), as a packaged server has."""
    base = Path(tempfile.mkdtemp(prefix="atelier-pg-"))
    data_dir = base / "data"
    password = secrets.token_urlsafe(16)
    pwfile = base / "pw"
    pwfile.write_text(password)
    if os.geteuid() == 0:
        shutil.chown(base, "postgres")
        shutil.chown(pwfile, "postgres")
    pwfile.chmod(0o600)
    subprocess.run(
        _as_server_user(
            [
                str(bin_dir / "initdb"),
                "-D",
                str(data_dir),
                "-U",
                USER,
                f"--pwfile={pwfile}",
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
                "--encoding=UTF8",
                "--locale=C.UTF-8",
                "--no-sync",
            ]
        ),
        check=True,
        capture_output=True,
    )
    pwfile.unlink()
    port = _free_port()
    options = (
        f"-c listen_addresses=127.0.0.1 -c port={port} -c unix_socket_directories={base} "
        "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=60 "
        f"-c shared_buffers={shared_buffers}"
    )
    subprocess.run(
        _as_server_user(
            [
                str(bin_dir / "pg_ctl"),
                "-D",
                str(data_dir),
                "-l",
                str(base / "log"),
                "-o",
                options,
                "-w",
                "start",
            ]
        ),
        check=True,
        capture_output=True,
    )
    server = PgServer("127.0.0.1", port, USER, password, data_dir, bin_dir)
    _wait_ready(server)
    return server


def _wait_ready(server: PgServer, timeout_s: float = 20.0) -> None:
    import psycopg

    deadline = time.monotonic() + timeout_s
    while True:
        try:
            psycopg.connect(server._dsn("postgres"), connect_timeout=2).close()
            return
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def stop(server: PgServer) -> None:
    subprocess.run(
        _as_server_user(
            [str(server.bin_dir / "pg_ctl"), "-D", str(server.data_dir), "-m", "immediate", "stop"]
        ),
        check=False,
        capture_output=True,
    )
    shutil.rmtree(server.data_dir.parent, ignore_errors=True)


def restart(server: PgServer) -> None:
    """Stops the server (every client is cut off, as when a server goes away) and starts it
    again on the same port and data with the options it was started with (``pg_ctl restart``)."""
    subprocess.run(
        _as_server_user(
            [
                str(server.bin_dir / "pg_ctl"),
                *("-D", str(server.data_dir), "-l", str(server.data_dir.parent / "log")),
                *("-m", "fast", "-w", "restart"),
            ]
        ),
        check=True,
        capture_output=True,
    )
    _wait_ready(server)


@contextlib.contextmanager
def stopped(server: PgServer) -> Iterator[None]:
    """The server stopped for the block (every client cut off, new connections refused, as when a team's
    server goes down), then started again on the same port with the same data and options."""
    opts = shlex.split((server.data_dir / "postmaster.opts").read_text())
    options = shlex.join(opts[1:][2:] if opts[1:2] == ["-D"] else opts[1:])  # postgres's own arguments
    subprocess.run(
        _as_server_user(
            [str(server.bin_dir / "pg_ctl"), "-D", str(server.data_dir), "-m", "fast", "-w", "stop"]
        ),
        check=True,
        capture_output=True,
    )
    try:
        yield
    finally:
        subprocess.run(
            _as_server_user(
                [
                    str(server.bin_dir / "pg_ctl"),
                    *("-D", str(server.data_dir), "-l", str(server.data_dir.parent / "log")),
                    *("-o", options, "-w", "start"),
                ]
            ),
            check=True,
            capture_output=True,
        )
        _wait_ready(server)
