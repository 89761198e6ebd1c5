"""The outbox and the mail worker against a real SMTP server that misbehaves on request."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from app.cases.models import Target, TargetAddress
from app.extensions import db
from app.mail import outbox
from app.mail import queue as claims
from app.mail.compose import Email
from app.mail.models import OutboundMessage
from app.mail.worker import Worker
from app.models_base import utcnow
from tests.factories import make_case

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def app_config(smtp_server):
    return {"MAIL_PORT": smtp_server.port, "MAIL_TIMEOUT": 5, "MAIL_CONNECTIONS": 2, "MAIL_BATCH_SIZE": 20}


@pytest.fixture
def case(app):
    case = make_case(
        slug="ana",
        targets=[{"name": "Ministry", "max_per_hour": 1000, "addresses": ["minister@justice.example.org"]}],
    )
    db.session.commit()
    return case


def address(case) -> TargetAddress:
    return case.targets[0].addresses[0]


def queue(case, count=1, text="Please release Ana.", name="Jane Doe") -> list[OutboundMessage]:
    rows = [
        outbox.enqueue(
            Email(subject="Free Ana", text=text, sender_name=f"{name} via Inkwell"),
            kind="appeal",
            recipient=address(case).email,
            target_address_id=address(case).id,
        )
        for _ in range(count)
    ]
    db.session.commit()
    return rows


def drain(app, **kwargs):
    stats = Worker(app, **kwargs).run(drain=True)
    db.session.expire_all()
    return stats


def states():
    db.session.expire_all()
    return [m.state for m in db.session.scalars(sa.select(OutboundMessage).order_by(OutboundMessage.id))]


def test_drain_delivers_every_message_over_few_connections(app, case, smtp_server):
    queued = queue(case, 60)
    stats = drain(app)
    assert stats.sent == 60
    assert states() == ["sent"] * 60
    assert len(smtp_server.messages) == 60
    assert smtp_server.sessions <= 2  # one connection per lane serves many messages
    received_ids = sorted(m.message["Message-ID"] for m in smtp_server.messages)
    assert received_ids == sorted(m.message_id for m in queued)
    row = db.session.get(OutboundMessage, queued[0].id)
    assert row.sent_at is not None and row.last_reply.startswith("250")
    assert row.attempts == 1 and row.lease_token is None


def test_message_arrives_intact_with_correct_headers(app, case, smtp_server):
    long_paragraph = "اكتب " * 1000 + "🙂" * 10  # 5,000+ characters, no line break, Arabic and emoji
    text = f"Dear Minister,\n.\n{long_paragraph}\n..\nend"
    [row] = queue(case, text=text)
    drain(app)
    [received] = smtp_server.messages
    assert all(len(line) <= 998 for line in received.data.split(b"\r\n"))
    parsed = received.message
    assert parsed["To"] == "minister@justice.example.org"
    assert received.rcpt_tos == ["minister@justice.example.org"]
    assert parsed["Message-ID"] == row.message_id
    assert parsed["Date"] and parsed["MIME-Version"] == "1.0"
    assert parsed["Content-Transfer-Encoding"] == "quoted-printable"
    assert parsed.get_content_charset() == "utf-8"
    assert parsed.get_content().replace("\r\n", "\n").rstrip("\n") == text


def test_header_injection_through_the_name_is_impossible(app, case, smtp_server):
    queue(case, name="Jane\r\nBcc: victim@elsewhere.example\r\nX-Evil: 1")
    drain(app)
    [received] = smtp_server.messages
    headers = received.data.split(b"\r\n\r\n", 1)[0]
    assert b"\r\nBcc:" not in headers and b"\r\nX-Evil:" not in headers
    assert received.rcpt_tos == ["minister@justice.example.org"]


def test_temporary_failure_is_retried_later_with_the_reply_kept(app, case, smtp_server):
    [row] = queue(case)
    smtp_server.behaviour.data = "451 4.3.0 Mailbox busy, try later"
    drain(app)
    row = db.session.get(OutboundMessage, row.id)
    assert row.state == "retry"
    assert row.last_reply == "451 4.3.0 Mailbox busy, try later"
    assert row.next_attempt_at > utcnow() + timedelta(seconds=30)
    smtp_server.behaviour.data = None
    drain(app)
    assert states() == ["retry"]  # not due yet
    row.next_attempt_at = utcnow()
    db.session.commit()
    drain(app)
    assert states() == ["sent"]
    assert db.session.get(OutboundMessage, row.id).attempts == 2


@pytest.mark.parametrize("reply", ["421 4.7.0 Too many connections", "452 4.2.2 Over quota"])
def test_other_temporary_replies_mean_retry(app, case, smtp_server, reply):
    queue(case)
    smtp_server.behaviour.data = reply
    drain(app)
    assert states() == ["retry"]
    assert smtp_server.messages == []


def test_permanent_failure_is_recorded_and_not_retried(app, case, smtp_server):
    queue(case, 2)
    smtp_server.behaviour.data = "554 5.7.1 Message rejected"
    smtp_server.behaviour.data_times = 1
    drain(app)
    assert sorted(states()) == ["failed", "sent"]
    failed = db.session.scalar(sa.select(OutboundMessage).where(OutboundMessage.state == "failed"))
    assert failed.last_reply == "554 5.7.1 Message rejected" and failed.failed_at is not None


def test_hard_bounces_mark_the_address_failing_and_a_fallback_takes_over(app, case, smtp_server):
    smtp_server.behaviour.rcpt["minister@justice.example.org"] = "550 5.1.1 No such user"
    queue(case, 3)
    drain(app, lanes=1)
    assert states() == ["failed"] * 3
    target_address = db.session.get(TargetAddress, address(case).id)
    assert target_address.failing and target_address.consecutive_bounces == 3

    later = queue(case, 2)
    drain(app)
    assert states()[-2:] == ["pending", "pending"]  # held: no point sending to a dead address

    target_address.fallback_email = "desk@embassy.example.org"
    db.session.commit()
    drain(app)
    assert states()[-2:] == ["sent", "sent"]
    received = smtp_server.by_recipient("desk@embassy.example.org")
    assert {m.message["Message-ID"] for m in received} == {m.message_id for m in later}
    assert all(m.message["To"] == "desk@embassy.example.org" for m in received)


def test_dropped_connection_after_data_is_resent_with_the_same_message_id(app, case, smtp_server):
    [row] = queue(case)
    smtp_server.behaviour.drop_after_data = 1
    drain(app)
    row = db.session.get(OutboundMessage, row.id)
    assert row.state == "retry" and "fate unknown" in row.last_reply
    row.next_attempt_at = utcnow()
    db.session.commit()
    drain(app)
    assert states() == ["sent"]
    assert [m.message["Message-ID"] for m in smtp_server.messages] == [row.message_id]


def test_reply_after_the_client_gave_up_gives_at_most_a_duplicate(app, case, smtp_server):
    [row] = queue(case)
    app.config["MAIL_TIMEOUT"] = 1.5  # generous for the dialogue up to DATA, even on a loaded machine
    smtp_server.behaviour.delay = 3.0  # ... but the reply to DATA comes after the client gave up
    drain(app, lanes=1)
    assert states() == ["retry"]
    assert len(smtp_server.messages) == 1  # the server had the first copy when the client gave up
    smtp_server.behaviour.delay = 0
    row = db.session.get(OutboundMessage, row.id)
    row.next_attempt_at = utcnow()
    db.session.commit()
    drain(app, lanes=1)
    assert states() == ["sent"]
    ids = [m.message["Message-ID"] for m in smtp_server.messages]
    assert ids == [row.message_id, row.message_id]  # one duplicate the receiver can drop, nothing lost


def test_server_down_loses_nothing(app, case, smtp_server):
    queue(case, 5)
    smtp_server.stop()
    drain(app, lanes=1)
    assert states() == ["retry"] * 5
    row = db.session.scalars(sa.select(OutboundMessage)).first()
    assert "connection failed" in row.last_reply


def test_pacing_holds_messages_over_the_hourly_limit(app, case, smtp_server):
    case.targets[0].max_per_hour = 2
    db.session.commit()
    queue(case, 5)
    drain(app)
    assert sorted(states()) == ["pending"] * 3 + ["sent"] * 2
    waiting = db.session.scalars(sa.select(OutboundMessage).where(OutboundMessage.state == "pending"))
    assert all(m.next_attempt_at > utcnow() + timedelta(minutes=50) for m in waiting)


def test_paused_target_waits_until_resumed(app, case, smtp_server):
    target = db.session.get(Target, case.targets[0].id)
    target.paused = True
    db.session.commit()
    queue(case, 2)
    drain(app)
    assert states() == ["pending", "pending"]
    target.paused = False
    db.session.commit()
    drain(app)
    assert states() == ["sent", "sent"]


def test_a_message_that_keeps_failing_is_set_aside_and_the_others_flow(app, case, smtp_server):
    app.config["MAIL_MAX_ATTEMPTS"] = 3
    bad = outbox.enqueue(Email(subject="x", text="x"), kind="notice", recipient="broken@mailbox.example.net")
    db.session.commit()
    good = queue(case, 3)
    smtp_server.behaviour.rcpt["broken@mailbox.example.net"] = "451 4.4.1 Try again"
    for _ in range(3):
        drain(app)
        db.session.execute(sa.update(OutboundMessage).values(next_attempt_at=utcnow()))
        db.session.commit()
    db.session.expire_all()
    assert db.session.get(OutboundMessage, bad.id).state == "failed"
    assert all(db.session.get(OutboundMessage, m.id).state == "sent" for m in good)


def test_a_message_that_kills_its_worker_is_set_aside(app, case):
    app.config["MAIL_MAX_ATTEMPTS"] = 2
    [row] = queue(case)
    for _ in range(2):  # two workers die holding it
        claimed = claims.claim_due_messages(10, timedelta(seconds=-1))
        assert [m.id for m in claimed] == [row.id]
    assert claims.claim_due_messages(10, timedelta(seconds=60)) == []
    db.session.expire_all()
    row = db.session.get(OutboundMessage, row.id)
    assert row.state == "failed" and "set aside" in row.last_reply


def test_sigterm_finishes_the_current_message_and_exits_cleanly(app, case, smtp_server, database_url, tmp_path):
    queue(case, 40)
    smtp_server.behaviour.delay = 0.1
    worker = _start_worker(database_url, smtp_server.port, tmp_path, drain=False, lanes=1)
    _wait_for(lambda: len(smtp_server.messages) >= 3)
    worker.send_signal(signal.SIGTERM)
    assert worker.wait(timeout=30) == 0
    db.session.expire_all()
    found = states()
    assert "sending" not in found  # nothing left leased
    assert found.count("sent") == len(smtp_server.messages)
    assert found.count("sent") < 40


def test_sigkill_mid_drain_loses_nothing(app, case, smtp_server, database_url, tmp_path):
    queued = queue(case, 60)
    smtp_server.behaviour.delay = 0.05
    worker = _start_worker(database_url, smtp_server.port, tmp_path, drain=True, lanes=2, lease_seconds=2)
    _wait_for(lambda: len(smtp_server.messages) >= 10)
    worker.kill()
    worker.wait(timeout=30)
    smtp_server.behaviour.delay = 0
    time.sleep(2.1)  # the dead worker's leases expire
    drain(app)
    assert states() == ["sent"] * 60
    received = [m.message["Message-ID"] for m in smtp_server.messages]
    assert set(received) == {m.message_id for m in queued}  # every message arrived
    duplicates = len(received) - len(set(received))
    assert duplicates <= 2 * app.config["MAIL_RECORD_EVERY"]  # only the unrecorded few, never more


@pytest.mark.parametrize("when", ["before", "after"])
def test_sigkill_before_or_after_the_servers_250(app, case, smtp_server, database_url, tmp_path, when):
    """Killed while the server still decides: sent once, later. Killed after it accepted: at most one duplicate."""
    [row] = queue(case)
    if when == "before":
        smtp_server.behaviour.hold = 3.0
    else:
        smtp_server.behaviour.delay = 3.0
    worker = _start_worker(database_url, smtp_server.port, tmp_path, drain=True, lanes=1, lease_seconds=1)
    _wait_for(lambda: smtp_server.data_count >= 1)
    worker.kill()
    worker.wait(timeout=30)
    time.sleep(3.2 if when == "before" else 1.2)  # the server gives up on (or has accepted) the first copy
    smtp_server.behaviour.hold = smtp_server.behaviour.delay = 0
    drain(app)
    assert states() == ["sent"]
    ids = [m.message["Message-ID"] for m in smtp_server.messages]
    assert ids == [row.message_id] * (1 if when == "before" else 2)


@pytest.mark.postgres_only
def test_ten_workers_racing_send_each_of_ten_thousand_messages_exactly_once(
    app, case, smtp_server, database_url, tmp_path
):
    case.targets[0].max_per_hour = 1_000_000
    queued = queue(case, 10_000)
    workers = [
        _start_worker(database_url, smtp_server.port, tmp_path, drain=True, lanes=2, name=f"w{n}") for n in range(10)
    ]
    for n, worker in enumerate(workers):
        assert worker.wait(timeout=600) == 0, (tmp_path / f"w{n}.log").read_text()
    assert states() == ["sent"] * 10_000
    received = [m.message["Message-ID"] for m in smtp_server.messages]
    assert len(received) == 10_000
    assert set(received) == {m.message_id for m in queued}


def _start_worker(database_url, port, tmp_path, *, drain, lanes, lease_seconds=300, name="worker"):
    env = {
        **os.environ,
        "INKWELL_CONFIG": "development",
        "DATABASE_URL": database_url,
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": str(port),
        "MAIL_CONNECTIONS": str(lanes),
        "MAIL_LEASE_SECONDS": str(lease_seconds),
        "MAIL_IDLE_SECONDS": "0.2",
        "INKWELL_INSTANCE_DIR": str(tmp_path),
        "FLASK_APP": "wsgi.py",
    }
    args = [sys.executable, "-m", "flask", "mail", "work"] + (["--drain"] if drain else [])
    with open(tmp_path / f"{name}.log", "w") as log:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(args, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)


def _wait_for(condition, timeout=30.0):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        time.sleep(0.02)
