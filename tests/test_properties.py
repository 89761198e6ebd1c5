"""Property-based: whatever a supporter can type arrives byte for byte in the body and never adds a header."""

from __future__ import annotations

import email
import email.policy
import smtplib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app import create_app, text
from app.mail.compose import Email, build_message, checked_address, header_text, message_bytes
from config import TestConfig
from tests.smtp_server import FaultySMTPServer

# Everything a keyboard, a paste or an input method can produce, except what the form refuses.
typed = st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=3000)


def accepted_letter(value: str) -> str | None:
    """The letter as the form stores it, or None where the form would refuse it."""
    if text.has_undecodable_bytes(value) or text.has_control_chars(value, allow_line_breaks=True):
        return None
    value = text.normalise_text(value)
    return None if text.is_blank(value) else value


@pytest.fixture(scope="module")
def smtp():
    server = FaultySMTPServer().start()
    client = smtplib.SMTP("127.0.0.1", server.port)
    yield server, client
    client.quit()
    server.stop()


@pytest.fixture(scope="module")
def mail_app():
    app = create_app(TestConfig)
    with app.app_context():
        yield app


EXPECTED_HEADERS = {
    "to",
    "from",
    "subject",
    "date",
    "message-id",
    "auto-submitted",
    "mime-version",
    "content-type",
    "content-transfer-encoding",
}


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(letter=typed, name=typed, subject=typed)
def test_any_letter_arrives_intact_and_headers_stay_ours(mail_app, smtp, letter, name, subject):
    server, client = smtp
    letter = accepted_letter(letter)
    if letter is None:
        return
    message = build_message(
        Email(subject=subject, text=letter, sender_name=f"{name} via Inkwell"), "<p@inkwell.example.org>"
    )
    data = b"To: minister@justice.example.org\r\n" + message_bytes(message)
    before = len(server.messages)
    client.sendmail("appeals@inkwell.example.org", [checked_address("minister@justice.example.org")], data)
    received = server.messages[before]
    assert received.rcpt_tos == ["minister@justice.example.org"]
    parsed = email.message_from_bytes(received.data, policy=email.policy.default)
    assert {k.lower() for k in parsed.keys()} == EXPECTED_HEADERS
    assert all(len(line) <= 998 for line in received.data.split(b"\r\n"))
    body = parsed.get_content().replace("\r\n", "\n")
    assert body == letter.replace("\r\n", "\n") + ("" if letter.endswith("\n") else "\n")
    assert parsed["Subject"] == header_text(subject, 250)


@given(value=typed)
def test_header_text_is_always_one_safe_line(value):
    cleaned = header_text(value)
    assert "\r" not in cleaned and "\n" not in cleaned and "\x00" not in cleaned
    assert not text.has_control_chars(cleaned) and not text.has_bidi_controls(cleaned)
    assert len(cleaned) <= 200
