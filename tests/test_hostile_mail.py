"""No single message can stop delivery: odd addresses, unsignable messages, slow relays, a database that goes away.

Addresses follow app.addresses: forms accept ASCII mailbox names with a domain in any script; the domain travels as
A-labels; a mailbox name in another script goes with SMTPUTF8 when the server offers it, and otherwise fails with
the reason recorded on that message.
"""

from __future__ import annotations

import email
import email.policy
import re
import threading
import time
from email.header import decode_header, make_header

import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from wtforms import Form, StringField

from app.extensions import db
from app.forms import EmailAddress
from app.mail import outbox
from app.mail.compose import Email
from app.mail.models import OutboundMessage
from app.mail.worker import Worker
from app.models_base import utcnow
from tests.factories import make_appeal, make_case
from tests.private_postgres import private_postgres  # noqa: F401 - fixture
from tests.smtp_server import FaultySMTPServer
from tests.test_database_faults import crashable_app  # noqa: F401 - fixture


@pytest.fixture
def app_config(smtp_server):
    return {"MAIL_PORT": smtp_server.port, "MAIL_TIMEOUT": 5, "MAIL_CONNECTIONS": 1, "MAIL_BATCH_SIZE": 50}


def queue(recipient: str, *, reply_to: str | None = None, subject: str = "Free Ana", name: str = "Jane") -> int:
    row = outbox.enqueue(
        Email(subject=subject, text="Please release Ana.", sender_name=f"{name} via Inkwell", reply_to=reply_to),
        kind="appeal",
        recipient=recipient,
    )
    db.session.commit()
    return row.id


def drain(app, **kwargs):
    stats = Worker(app, **kwargs).run(drain=True)
    db.session.expire_all()
    return stats


def row(message_id: int) -> OutboundMessage:
    return db.session.get(OutboundMessage, message_id)


def rfc2047(value: str) -> str:
    """A header as an RFC 2047 reader (a mail client) shows it: white space between encoded words is dropped."""
    return str(make_header(decode_header(value)))


def raw_headers(received) -> email.message.Message:
    return email.message_from_bytes(received.data, policy=email.policy.compat32)


# --- internationalised addresses -----------------------------------------------------------------------------


def test_an_idn_domain_travels_as_a_labels_in_envelope_and_headers(app, smtp_server):
    sent = queue("ministre@justice.bücher.example", reply_to="Jane@Bücher.example")
    drain(app)
    assert row(sent).state == "sent"
    [received] = smtp_server.messages
    assert received.rcpt_tos == ["ministre@justice.xn--bcher-kva.example"]
    headers = raw_headers(received)
    assert headers["To"] == "ministre@justice.xn--bcher-kva.example"
    assert headers["Reply-To"] == "Jane@xn--bcher-kva.example"
    assert received.data.split(b"\r\n\r\n")[0].isascii()


def test_a_mailbox_name_in_another_script_fails_with_its_reason_and_the_others_flow(app, smtp_server):
    before = queue("first@justice.example.org")
    eai = queue("jörg@example.org")
    eai_reply = queue("minister@justice.example.org", reply_to="jörg@example.org")  # a 500 on confirmation before
    after = queue("last@justice.example.org")
    stats = drain(app)
    assert (stats.sent, stats.failed) == (2, 2)
    assert row(before).state == row(after).state == "sent"
    for message_id in (eai, eai_reply):
        assert row(message_id).state == "failed"
        assert "SMTPUTF8" in row(message_id).last_reply


def test_a_mailbox_name_in_another_script_goes_with_smtputf8_when_the_server_offers_it(app):
    server = FaultySMTPServer(smtputf8=True).start()
    try:
        app.config["MAIL_PORT"] = server.port
        eai = queue("jörg@example.org", reply_to="zoë@example.org")
        drain(app)
        assert row(eai).state == "sent"
        [received] = server.messages
        assert received.rcpt_tos == ["jörg@example.org"]
        assert "\r\nReply-To: zoë@example.org\r\n".encode() in received.data  # raw UTF-8, as SMTPUTF8 allows
    finally:
        server.stop()


def test_an_address_no_server_takes_is_recorded_as_failed_when_queued_never_raised(app, smtp_server):
    broken = queue("no-at-sign")
    good = queue("minister@justice.example.org")
    assert row(broken).state == "failed" and "could not be composed" in row(broken).last_reply
    drain(app)
    assert row(good).state == "sent" and row(broken).state == "failed"


# --- poison messages ---------------------------------------------------------------------------------------------


@pytest.fixture
def dkim_key(tmp_path):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path = tmp_path / "dkim.pem"
    path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return path


def test_poison_messages_between_good_ones_leave_the_good_ones_delivered(app, smtp_server, dkim_key):
    app.config.update(MAIL_DKIM_KEY_FILE=str(dkim_key), MAIL_DKIM_DOMAIN="inkwell.example.org")
    good = [queue(f"minister{n}@justice.example.org") for n in range(3)]
    unsignable = queue("desk@justice.example.org")
    db.session.execute(sa.update(OutboundMessage).where(OutboundMessage.id == unsignable).values(raw=b"\x00garbage"))
    unaddressable = queue("office@justice.example.org")
    db.session.execute(
        sa.update(OutboundMessage).where(OutboundMessage.id == unaddressable).values(recipient="office@[bad")
    )
    db.session.commit()
    more = [queue(f"deputy{n}@justice.example.org") for n in range(3)]

    worker = Worker(app)
    stats = worker.run(drain=True)
    db.session.expire_all()
    assert stats.sent == 6
    assert all(row(m).state == "sent" for m in good + more)
    assert {m.rcpt_tos[0] for m in smtp_server.messages} == {row(m).recipient for m in good + more}
    assert all(m.data.startswith(b"DKIM-Signature:") for m in smtp_server.messages)
    assert row(unaddressable).state == "failed" and "not an address" in row(unaddressable).last_reply
    # The message that crashed the signer is recorded with what went wrong, and will be tried again a few times.
    assert row(unsignable).state == "retry" and "MessageFormatError" in row(unsignable).last_reply


_LOCAL = st.text(
    alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.!#$%&'*+-/=?^_`{|}~öä漢",
    min_size=1,
    max_size=20,
)
_LABEL = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-üéж漢ب", min_size=1, max_size=12)
_ADDRESSES = st.one_of(
    st.emails(),
    st.builds(
        lambda local, labels, tld: f"{local}@{'.'.join(labels)}.{tld}",
        _LOCAL,
        st.lists(_LABEL, min_size=1, max_size=3),
        st.sampled_from(["example", "org", "рф", "xn--p1ai", "EXAMPLE"]),
    ),
    # Anything at all, but NUL and lone surrogates: no text column can hold them, so no stored row ever has one (the
    # request decoder never makes a surrogate, and app.request_checks refuses a NUL at the door).
    st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=40),
)


class _AddressForm(Form):
    address = StringField(validators=[EmailAddress()])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(candidate=_ADDRESSES, reply=st.booleans())
def test_any_address_a_form_accepts_is_delivered_and_none_breaks_the_worker(app, smtp_server, candidate, reply):
    db.session.execute(sa.delete(OutboundMessage))
    db.session.commit()
    smtp_server.messages.clear()
    form = _AddressForm(data={"address": candidate})
    accepted = form.validate() and bool(form.address.data)  # an empty field is for DataRequired to refuse
    address = form.address.data if accepted else candidate
    # Anything at all can be handed to the outbox (a row written before today's rules, a CLI typo): never an error.
    message = queue("minister@justice.example.org", reply_to=address) if reply else queue(address)
    drain(app)
    state = row(message).state
    assert state in ("sent", "failed")
    if accepted:
        assert state == "sent", row(message).last_reply
        assert len(smtp_server.messages) == 1
    else:
        assert state == "failed" or len(smtp_server.messages) == 1


# --- headers in every script -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "سلوى قنديل عبد الرحمن محمد عن طريق Inkwell",
        "طريق قنديل محمد قنديل عن سلوى عبد",
        "é طريق Inkwell x é Inkwell عبد é عن الرحمن طريق",
        "王小明 和 李华 的 朋友们 通过 Inkwell 写信 给 部长",
    ],
)
def test_display_names_and_subjects_keep_every_space_in_any_script(app, smtp_server, name):
    queue("minister@justice.example.org", subject=name, name=name)
    drain(app)
    [received] = smtp_server.messages
    headers = raw_headers(received)
    assert rfc2047(headers["From"]) == f"{name} via Inkwell <appeals@inkwell.example.org>"
    assert rfc2047(headers["Subject"]) == name
    assert all(len(line) <= 78 for line in received.data.split(b"\r\n\r\n")[0].split(b"\r\n"))


# --- slow relays and several workers ---------------------------------------------------------------------------


def test_a_slow_relay_and_two_workers_deliver_every_message_exactly_once(app, smtp_server):
    app.config.update(MAIL_LEASE_SECONDS=1, MAIL_BATCH_SIZE=10, MAIL_RECORD_EVERY=5)
    smtp_server.behaviour.delay = 0.15  # a batch of 10 takes 1.5 s: longer than the lease
    ids = [queue(f"minister{n}@justice.example.org") for n in range(30)]
    workers = [Worker(app, lanes=1) for _ in range(2)]
    threads = [threading.Thread(target=w.run, kwargs={"drain": True}) for w in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    db.session.expire_all()
    delivered = [m.message["Message-ID"] for m in smtp_server.messages]
    assert sorted(delivered) == sorted(row(m).message_id for m in ids)  # every one, none twice
    assert all(row(m).state == "sent" and row(m).attempts == 1 for m in ids)


# --- a lane that dies is restarted -----------------------------------------------------------------------------


@pytest.fixture
def crashable(crashable_app, smtp_server):  # noqa: F811 - the fixture imported above
    app, server = crashable_app
    app.config.update(MAIL_PORT=smtp_server.port, MAIL_CONNECTIONS=2)
    return app, server


def test_lanes_survive_the_database_going_away_and_deliver_when_it_is_back(crashable, smtp_server):
    app, server = crashable
    first = [queue(f"minister{n}@justice.example.org") for n in range(5)]
    db.session.remove()
    stop = threading.Event()
    worker = Worker(app, stop=stop, idle_seconds=0.05)
    thread = threading.Thread(target=worker.run)
    thread.start()
    try:
        _wait_for(lambda: len(smtp_server.messages) == 5)
        server.crash()
        _wait_for(lambda: worker.errors)  # the lanes crashed...
        assert thread.is_alive()  # ...and the worker did not stop
        server.start()
        later = [queue(f"deputy{n}@justice.example.org") for n in range(5)]
        db.session.remove()
        _wait_for(lambda: len(smtp_server.messages) == 10)
        assert thread.is_alive()
    finally:
        stop.set()
        thread.join(timeout=30)
    assert sorted(m.message["Message-ID"] for m in smtp_server.messages) == sorted(
        row(m).message_id for m in first + later
    )


def _wait_for(condition, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


# --- digests that fit ------------------------------------------------------------------------------------------


def _digest_case_with_letters(count: int, letter_chars: int):
    from app.appeals.models import DigestEntry
    from app.models_base import utcnow

    case = make_case(
        slug="digest",
        targets=[{"name": "Embassy", "digest": True, "addresses": ["desk@embassy.example.org"]}],
    )
    db.session.flush()
    address = case.targets[0].addresses[0]
    for n in range(count):
        appeal = make_appeal(
            case, n, name=f"Writer {n}", subject="Free them", letter=f"Letter {n}: " + "x" * letter_chars
        )
        db.session.add(DigestEntry(appeal_id=appeal.id, target_address_id=address.id, created_at=utcnow()))
    db.session.commit()
    return case


def _letters_delivered(server) -> list[str]:
    found = []
    for received in server.messages:
        for attachment in received.message.iter_attachments():
            found += re.findall(r"Letter (\d+):", attachment.get_content())
    return found


def test_a_days_digest_is_split_under_the_message_size_limit(app, smtp_server):
    from app.appeals import services as appeals

    app.config["MAIL_MAX_MESSAGE_BYTES"] = 64 * 1024
    _digest_case_with_letters(60, 3000)  # about 180 KB of letters
    noon = utcnow().replace(hour=12)
    parts = appeals.build_due_digests(noon)
    db.session.commit()
    assert parts >= 3
    digests = db.session.scalars(sa.select(OutboundMessage).where(OutboundMessage.kind == "digest")).all()
    assert all(len(d.raw) <= 64 * 1024 for d in digests)
    drain(app)
    assert sorted(_letters_delivered(smtp_server), key=int) == [str(n) for n in range(60)]


def test_a_digest_the_relay_refuses_as_too_big_is_sent_again_in_smaller_parts(app):
    from app.appeals import services as appeals

    server = FaultySMTPServer(data_size_limit=48 * 1024).start()
    try:
        app.config["MAIL_PORT"] = server.port
        _digest_case_with_letters(40, 3000)  # one digest of about 170 KB: refused
        assert appeals.build_due_digests(utcnow().replace(hour=12)) == 1
        db.session.commit()
        for _ in range(6):
            drain(app)
            appeals.split_refused_digests()
            db.session.commit()
        drain(app)
        assert sorted(_letters_delivered(server), key=int) == [str(n) for n in range(40)]  # all, once each
        refused = db.session.scalars(
            sa.select(OutboundMessage).where(OutboundMessage.kind == "digest", OutboundMessage.state == "failed")
        ).all()
        assert refused and all(m.last_reply.startswith("552") for m in refused)
    finally:
        server.stop()


def test_a_name_written_as_an_encoded_word_stays_literal_text_and_the_appeal_goes_out(app, client, smtp_server):
    from app.appeals.models import Appeal
    from tests.test_appeals import confirm_link, form_data

    make_case(slug="ana", targets=[{"name": "Ministry", "addresses": ["minister@justice.example.org"]}])
    db.session.commit()
    name = "=?utf-8?q?Jane=0D=0ABcc:_victim@elsewhere.example?="
    assert client.post("/en/cases/ana/appeal/", data=form_data(name=name)).status_code == 302
    confirmation = db.session.scalar(sa.select(OutboundMessage).where(OutboundMessage.kind == "confirmation"))
    assert client.post(confirm_link(confirmation)).status_code == 302
    assert db.session.scalar(sa.select(Appeal)).state == "confirmed"
    drain(app)
    [received] = [m for m in smtp_server.messages if m.rcpt_tos == ["minister@justice.example.org"]]
    headers = received.data.split(b"\r\n\r\n")[0]
    assert b"\r\nBcc:" not in headers
    assert rfc2047(raw_headers(received)["From"]) == f"{name} via Inkwell <appeals@inkwell.example.org>"


def test_a_drain_that_cannot_reach_the_database_says_so_and_exits_non_zero(crashable):
    app, server = crashable
    db.session.remove()
    db.engine.dispose()
    server.crash()
    try:
        result = app.test_cli_runner().invoke(args=["mail", "work", "--drain"])
    finally:
        server.start()
    assert result.exit_code != 0
    assert "delivery stopped: OperationalError" in result.output and "Traceback" not in result.output
