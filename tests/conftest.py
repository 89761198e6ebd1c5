"""Fixtures: the app on a real SQLite file and on a real PostgreSQL database, its client and CLI runner.

Every test that uses `app` runs once per database backend. PostgreSQL comes from TEST_DATABASE_URL (default: the
local server); each run creates its own throw-away database there so that parallel runs cannot collide. When
PostgreSQL is unreachable its tests are skipped with the reason, unless INKWELL_REQUIRE_POSTGRES=1 (CI), where
that is a failure.
"""

from __future__ import annotations

import contextvars
import os
import smtplib
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from flask_migrate import upgrade

from app import create_app
from app.extensions import db
from config import TestConfig
from tests.smtp_server import FaultySMTPServer

DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
MIGRATIONS = str(Path(__file__).resolve().parent.parent / "migrations")


def _postgres_admin_url() -> sa.URL:
    return sa.make_url(os.environ.get("TEST_DATABASE_URL", DEFAULT_POSTGRES_URL))


def _create_postgres_database() -> tuple[str, callable]:
    admin_url = _postgres_admin_url()
    name = f"inkwell_test_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except sa.exc.OperationalError as error:
        admin.dispose()
        reason = f"PostgreSQL unreachable at {admin_url.render_as_string()}: {str(error.orig).strip()[:200]}"
        if os.environ.get("INKWELL_REQUIRE_POSTGRES") == "1":
            pytest.fail(reason)
        pytest.skip(reason)

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return admin_url.set(database=name).render_as_string(hide_password=False), drop


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def database_url(request, tmp_path_factory):
    """A migrated, empty database of each kind, shared by the tests of a session."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'inkwell.sqlite3'}"
        drop = None
    else:
        url, drop = _create_postgres_database()
    app = create_app(TestConfig, {"SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        upgrade(directory=MIGRATIONS)
        db.engine.dispose()
    yield url
    if drop:
        drop()


def _empty_all_tables() -> None:
    tables = list(reversed(db.metadata.sorted_tables))
    if db.engine.dialect.name == "postgresql":
        names = ", ".join(f'"{t.name}"' for t in tables)
        db.session.execute(sa.text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    else:
        for table in tables:
            db.session.execute(table.delete())
    db.session.commit()


@pytest.fixture(autouse=True)
def _skip_postgres_only_tests_on_sqlite(request):
    if request.node.get_closest_marker("postgres_only") and "database_url" in request.fixturenames:
        if request.getfixturevalue("database_url").startswith("sqlite"):
            pytest.skip("runs once, against PostgreSQL (the production database); not repeated on SQLite")


@pytest.fixture
def app_config() -> dict:
    """Per-test configuration overrides; a test module may override this fixture."""
    return {}


class IsolatedClient(FlaskClient):
    """Each request runs in a fresh context, as in production: its own app context, `g` and database session.

    (The test body holds an app context for its own queries; without this, requests would share its `g`.)
    """

    def open(self, *args, **kwargs):
        context = contextvars.Context()
        response = context.run(super().open, *args, **kwargs)
        if response.is_streamed:  # a streamed body is produced as it is read: in the request's context too
            response.response = _ReadInContext(context, response.response)
        return response


class _ReadInContext:
    """A response body that runs in `context` as it is read and closed (`stream_with_context` needs that)."""

    def __init__(self, context: contextvars.Context, body) -> None:
        self.context, self.body = context, iter(body)
        self._close = getattr(body, "close", None)

    def __iter__(self):
        return self

    def __next__(self):
        return self.context.run(next, self.body)

    def close(self) -> None:
        if self._close is not None:
            self.context.run(self._close)


@pytest.fixture
def app(database_url, app_config):
    app = create_app(TestConfig, {"SQLALCHEMY_DATABASE_URI": database_url, **app_config})
    app.test_client_class = IsolatedClient
    with app.app_context():
        yield app
        db.session.remove()
        _empty_all_tables()
        db.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def demo(app):
    """The demo campaign, loaded through the same command operators use."""
    result = app.test_cli_runner().invoke(args=["seed", "demo"])
    assert result.exit_code == 0, result.output
    return result


@pytest.fixture(autouse=True)
def smtp_only_to_loopback(monkeypatch):
    """No test may talk SMTP to anything but this machine."""
    original = smtplib.SMTP._get_socket

    def guarded(self, host, port, timeout):
        if host not in ("127.0.0.1", "localhost", "::1"):
            raise AssertionError(f"a test tried to send mail to {host}:{port}")
        return original(self, host, port, timeout)

    monkeypatch.setattr(smtplib.SMTP, "_get_socket", guarded)


@pytest.fixture
def smtp_server():
    """A real SMTP server on a free local port; set `.behaviour` to make it misbehave."""
    server = FaultySMTPServer().start()
    yield server
    server.stop()


@pytest.fixture
def staff(app):
    """A moderator (mod@inkwell.example.org) and an admin (admin@inkwell.example.org), committed."""
    from tests.factories import make_staff

    moderator = make_staff("mod@inkwell.example.org", "moderator")
    admin = make_staff("admin@inkwell.example.org", "admin")
    db.session.commit()
    return moderator, admin
