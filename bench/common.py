"""What the benchmarks share: a throw-away database, SMTP sinks in their own processes, the results table."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
POSTGRES_URL = os.environ.get("BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def vacuum(engine: sa.Engine, *tables: str, checkpoint: bool = False) -> None:
    """What autovacuum would do after a bulk load (and would otherwise do in the middle of the next measurement)."""
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(sa.text(f"VACUUM (ANALYZE) {', '.join(tables)}"))
        if checkpoint:
            conn.execute(sa.text("CHECKPOINT"))


@contextlib.contextmanager
def temp_database(kind: str = "postgresql"):
    """A migrated, empty database for one benchmark: PostgreSQL (the production database) or an SQLite file."""
    from flask_migrate import upgrade

    from app import create_app
    from app.extensions import db
    from config import TestConfig

    if kind == "sqlite":
        directory = tempfile.mkdtemp(prefix="inkwell-bench-")
        url = f"sqlite:///{directory}/bench.sqlite3"
        drop = None
    else:
        admin = sa.create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
        name = f"inkwell_bench_{uuid.uuid4().hex[:8]}"
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        url = sa.make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)

        def drop():
            with admin.connect() as conn:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()

    app = create_app(TestConfig, {"SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"))
        db.engine.dispose()
    try:
        yield url
    finally:
        if drop:
            drop()


@contextlib.contextmanager
def smtp_sink(delay: float = 0.0):
    """An SMTP sink in its own process, so that it does not share the benchmark's interpreter."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "bench.sink", "--port", str(port), "--delay", str(delay)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout.readline().strip() == "ready"
        yield port
    finally:
        process.terminate()
        process.wait(timeout=10)


@dataclass
class Row:
    name: str
    value: float
    unit: str
    baseline: str | None = None
    ratio: float | None = None
    target: str = ""
    ok: bool | None = None


@dataclass
class Table:
    title: str
    rows: list[Row] = field(default_factory=list)

    def add(self, row: Row) -> Row:
        self.rows.append(row)
        return row

    def render(self) -> str:
        lines = [
            f"## {self.title}",
            "",
            "| measurement | value | vs baseline | ratio | target | met |",
            "|---|---|---|---|---|---|",
        ]
        for r in self.rows:
            ratio = f"{r.ratio:.2f}x" if r.ratio is not None else ""
            met = {True: "yes", False: "NO", None: ""}[r.ok]
            lines.append(f"| {r.name} | {r.value:,.1f} {r.unit} | {r.baseline or ''} | {ratio} | {r.target} | {met} |")
        return "\n".join(lines)


class Timer:
    def __enter__(self):
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.seconds = time.perf_counter() - self.start
