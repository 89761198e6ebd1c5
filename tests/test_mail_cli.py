"""`flask mail ...` commands, DKIM signing and the catch-all development server."""

from __future__ import annotations

import email
import smtplib
from pathlib import Path

import pytest

from app.extensions import db
from app.mail import outbox
from app.mail.compose import Email
from tests.smtp_server import _free_port


@pytest.fixture
def app_config(smtp_server):
    return {"MAIL_PORT": smtp_server.port}


def _queue(n: int, recipient: str = "desk@office.example.org"):
    for _ in range(n):
        outbox.enqueue(Email(subject="Hello", text="Body"), kind="notice", recipient=recipient)
    db.session.commit()


def test_status_prints_counts_and_the_oldest_waiting(runner):
    _queue(3)
    result = runner.invoke(args=["mail", "status"])
    assert result.exit_code == 0
    assert "pending  3" in result.output
    assert "oldest waiting: " in result.output and "none" not in result.output


def test_work_drain_sends_everything_due_and_exits(runner, smtp_server):
    _queue(5)
    result = runner.invoke(args=["mail", "work", "--drain", "--connections", "2"])
    assert result.exit_code == 0, result.output
    assert "sent 5, to retry 0, failed 0" in result.output
    assert len(smtp_server.messages) == 5
    status = runner.invoke(args=["mail", "status"]).output
    assert "sent     5" in status and "oldest waiting: none" in status


def test_dkim_signature_verifies(app, runner, smtp_server, tmp_path):
    dkim = pytest.importorskip("dkim")
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    (tmp_path / "dkim.pem").write_bytes(pem)
    public = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    import base64

    record = b"v=DKIM1; k=rsa; p=" + base64.b64encode(public)
    app.config.update(MAIL_DKIM_KEY_FILE=str(tmp_path / "dkim.pem"), MAIL_DKIM_DOMAIN="inkwell.example.org")
    _queue(1)
    assert runner.invoke(args=["mail", "work", "--drain"]).exit_code == 0
    [received] = smtp_server.messages
    assert received.data.startswith(b"DKIM-Signature:")

    def dns(name, timeout=5):
        assert name == b"inkwell._domainkey.inkwell.example.org."
        return record

    assert dkim.verify(received.data, dnsfunc=dns)
    assert not dkim.verify(received.data.replace(b"Body", b"Bodx"), dnsfunc=dns)


def test_devserver_stores_each_message_as_a_file(tmp_path):
    from app.mail.devserver import serve

    port = _free_port()
    controller = serve(str(tmp_path), "127.0.0.1", port)
    try:
        with smtplib.SMTP("127.0.0.1", port) as smtp:
            smtp.sendmail("a@inkwell.example.org", ["b@office.example.org"], b"Subject: hi\r\n\r\nhello\r\n")
    finally:
        controller.stop()
    [path] = list(Path(tmp_path).glob("*.eml"))
    parsed = email.message_from_bytes(path.read_bytes())
    assert parsed["Subject"] == "hi"
    assert parsed["X-Envelope-To"] == "b@office.example.org"


def test_targets_fallback_pause_resume_and_retry_from_the_command_line(runner, app):
    from app.cases.models import Target
    from app.mail.models import OutboundMessage
    from tests.factories import make_case

    case = make_case(slug="ana", targets=[{"name": "Ministry", "addresses": ["m@justice.example.org"]}])
    address = case.targets[0].addresses[0]
    address.failing, address.consecutive_bounces = True, 3
    row = outbox.enqueue(
        Email(subject="s", text="t"), kind="appeal", recipient=address.email, target_address_id=address.id
    )
    row.state, row.last_reply = "failed", "550 no such user"
    db.session.commit()

    listing = runner.invoke(args=["mail", "targets"]).output
    assert "m@justice.example.org: FAILING, 3 bounces in a row" in listing and "failed 1" in listing

    result = runner.invoke(args=["mail", "fallback", "m@justice.example.org", "desk@embassy.example.org"])
    assert result.exit_code == 0 and "mail now goes to desk@embassy.example.org" in result.output
    assert runner.invoke(args=["mail", "fallback", "nobody@example.org", "x@example.org"]).exit_code != 0
    assert "not an email address" in runner.invoke(args=["mail", "fallback", "m@justice.example.org", "a b"]).output

    target_id = case.targets[0].id
    assert "paused" in runner.invoke(args=["mail", "pause", str(target_id)]).output
    assert db.session.get(Target, target_id).paused
    assert "sending" in runner.invoke(args=["mail", "resume", str(target_id)]).output
    assert runner.invoke(args=["mail", "pause", "999"]).exit_code != 0

    assert "1 messages queued again" in runner.invoke(args=["mail", "retry", "--target", str(target_id)]).output
    db.session.expire_all()
    assert db.session.get(OutboundMessage, row.id).state == "retry"
    assert runner.invoke(args=["mail", "retry"]).exit_code != 0
