"""A PostgreSQL server of the test's own (initdb in a temporary directory), which a test may crash and restart
without disturbing the shared server other tests use."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from tests.smtp_server import _free_port


def _bin(name: str) -> str | None:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return found[-1] if found else None


class PrivatePostgres:
    def __init__(self, directory: Path):
        self.directory = directory
        self.data = directory / "data"
        self.port = _free_port()
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str) -> None:
        command = list(args)
        if os.geteuid() == 0:  # PostgreSQL refuses to run as root
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True, timeout=120)

    def init(self) -> PrivatePostgres:
        self.directory.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(self.directory, "postgres", "postgres")
        self._run(_bin("initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync")
        return self

    def start(self) -> None:
        options = f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1 -c fsync=on"
        self._run(_bin("pg_ctl"), "-D", str(self.data), "-o", options, "-l", str(self.directory / "log"), "-w", "start")

    def crash(self) -> None:
        """Stop at once, as a power cut would: no checkpoint, no clean shutdown (`-m immediate`)."""
        self._run(_bin("pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop")

    def stop(self) -> None:
        try:
            self._run(_bin("pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")
        except subprocess.CalledProcessError:
            pass


@pytest.fixture
def private_postgres():
    if not _bin("initdb") or (os.geteuid() == 0 and not shutil.which("runuser")):
        reason = "PostgreSQL server binaries (initdb, pg_ctl) are not installed"
        if os.environ.get("INKWELL_REQUIRE_POSTGRES") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    # Not under pytest's own temporary directory: the `postgres` user must be able to reach it.
    directory = Path(tempfile.mkdtemp(prefix="inkwell-pg-"))
    server = PrivatePostgres(directory).init()
    server.start()
    yield server
    server.stop()
    shutil.rmtree(directory, ignore_errors=True)
