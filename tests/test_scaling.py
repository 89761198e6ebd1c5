"""The scaled shape: two web processes (gunicorn) and two mail workers on one PostgreSQL and one Redis."""

from __future__ import annotations

import http.cookiejar
import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.mail.models import OutboundMessage
from tests.factories import make_case
from tests.smtp_server import _free_port

ROOT = Path(__file__).resolve().parent.parent
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")

pytestmark = pytest.mark.postgres_only


@pytest.fixture
def redis_url():
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.exceptions.ConnectionError as error:
        if os.environ.get("INKWELL_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"Redis unreachable at {REDIS_URL}: {error}")
        pytest.skip(f"Redis unreachable at {REDIS_URL}: {error}")
    return REDIS_URL


def _environment(database_url, **extra):
    return {
        **os.environ,
        "INKWELL_CONFIG": "development",
        "DATABASE_URL": database_url,
        "FLASK_APP": "wsgi.py",
        **extra,
    }


def _wait_until_up(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5).read()  # noqa: S310
            return
        except (urllib.error.URLError, OSError):  # refused while booting, or a first answer slower than the timeout
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


class Browser:
    """A cookie-keeping HTTP client that submits forms with their CSRF token, as a visitor's browser does."""

    def __init__(self):
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()), _NoRedirect()
        )

    def submit_appeal(self, port: int, email: str) -> int:
        url = f"http://127.0.0.1:{port}/en/cases/ana/appeal/"
        page = self.opener.open(url, timeout=10).read().decode()
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
        data = urllib.parse.urlencode(
            {
                "csrf_token": token,
                "name": "Jane Doe",
                "email": email,
                "country": "FR",
                "letter_language": "en",
                "letter": "Dear Minister, please release Ana.",
                "consent_share": "y",
            }
        ).encode()
        try:
            return self.opener.open(url, data=data, timeout=10).status
        except urllib.error.HTTPError as error:
            return error.code


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def test_rate_limits_count_across_processes_and_workers_send_each_message_once(
    app, database_url, redis_url, smtp_server, tmp_path
):
    make_case(
        slug="ana",
        targets=[
            {
                "name": "Ministry",
                "max_per_hour": 100_000,
                "addresses": ["a@justice.example.org", "b@justice.example.org"],
            }
        ],
    )
    db.session.commit()
    prefix = f"inkwell-scale-{uuid.uuid4().hex}"
    ports = [_free_port(), _free_port()]
    web = [
        subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--workers", "1", "--bind", f"127.0.0.1:{port}", "wsgi:app"],
            cwd=ROOT,
            env=_environment(
                database_url,
                SECRET_KEY="shared-secret-for-both-web-processes-0123456789",
                RATELIMIT_STORAGE_URI=redis_url,
                RATELIMIT_KEY_PREFIX=prefix,
                APPEAL_RATE_LIMIT="6/minute",
                APPEAL_CONFIRMATION="0",
                FORM_MIN_FILL_SECONDS="0",
            ),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for port in ports
    ]
    try:
        for port in ports:
            _wait_until_up(port)
        browser = Browser()
        statuses = [browser.submit_appeal(ports[n % 2], f"s{n}@example.net") for n in range(8)]
    finally:
        for process in web:
            process.terminate()
            process.wait(timeout=30)
    # Six posts in a minute from one address, whichever process answered them; then 429 from both.
    assert statuses[:6] == [302] * 6, statuses
    assert statuses[6:] == [429, 429], statuses

    workers = [
        subprocess.Popen(
            [sys.executable, "-m", "flask", "mail", "work", "--drain"],
            cwd=ROOT,
            env=_environment(
                database_url,
                MAIL_SERVER="127.0.0.1",
                MAIL_PORT=str(smtp_server.port),
                MAIL_CONNECTIONS="2",
                MAIL_BATCH_SIZE="1",
            ),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(2)
    ]
    for worker in workers:
        assert worker.wait(timeout=120) == 0
    db.session.expire_all()
    ids = list(db.session.scalars(sa.select(OutboundMessage.message_id).where(OutboundMessage.state == "sent")))
    assert len(ids) == 12  # six appeals, two addresses each
    received = [m.message["Message-ID"] for m in smtp_server.messages]
    assert sorted(received) == sorted(ids)
