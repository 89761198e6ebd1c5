"""Privacy: retention purge and erasure on request keep every count; the privacy page; no emails in logs."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.appeals.models import Appeal
from app.cases import services as cases
from app.exports import services as exports
from app.extensions import db
from app.mail.models import OutboundMessage
from app.models_base import utcnow
from app.privacy import services
from app.privacy.models import ErasureRecord
from tests.factories import make_case
from tests.test_appeals import confirm_link, form_data, outbox


@pytest.fixture
def case(app):
    case = make_case(slug="ana")
    db.session.commit()
    return case


def write_and_confirm(client, email: str, **fields):
    client.post("/en/cases/ana/appeal/", data=form_data(email=email, consent_updates="y", **fields))
    # The form keeps the address as typed, with its domain in lower case (as email-validator normalises it).
    [confirmation] = [m for m in outbox("confirmation") if m.recipient.casefold() == email.casefold()]
    client.post(confirm_link(confirmation))


def figures(case):
    return (
        cases.totals_for([case.id])[case.id].appeals,
        list(exports.appeal_counts_rows()),
    )


def test_purge_erases_only_what_is_past_retention_and_keeps_every_count(app, client, case, runner):
    write_and_confirm(client, "old@example.net")
    write_and_confirm(client, "new@example.net")
    db.session.execute(sa.update(OutboundMessage).values(state="sent", sent_at=utcnow()))
    old = db.session.scalar(sa.select(Appeal).where(Appeal.email == "old@example.net"))
    old.confirmed_at = utcnow() - timedelta(days=91)
    db.session.commit()
    before = figures(case)

    result = runner.invoke(args=["privacy", "purge"])
    assert result.exit_code == 0 and "1 items erased" in result.output
    db.session.expire_all()
    old = db.session.get(Appeal, old.id)
    assert (old.name, old.email, old.letter, old.erased_at is not None) == ("", "", "", True)
    assert db.session.scalar(sa.select(Appeal).where(Appeal.email == "new@example.net")).letter
    assert all(m.raw == b"" for m in outbox() if m.appeal_id == old.id)
    assert figures(case) == before
    assert runner.invoke(args=["privacy", "purge"]).output.startswith("0 items")  # idempotent, cron-safe
    assert db.session.scalar(sa.select(ErasureRecord.kind)) == "retention"


def test_an_erased_unconfirmed_appeal_written_again_is_erased_again_when_due(app, client, case):
    client.post("/en/cases/ana/appeal/", data=form_data(email="again@example.net"))
    db.session.execute(sa.update(Appeal).values(created_at=utcnow() - timedelta(days=91)))
    db.session.commit()
    assert services.purge_expired_personal_data() == 1  # never confirmed: erased once past retention
    db.session.commit()

    client.post("/en/cases/ana/appeal/", data=form_data(email="again@example.net", name="Jane Again"))
    db.session.expire_all()
    again = db.session.scalar(sa.select(Appeal))
    assert (again.name, again.state, again.erased_at) == ("Jane Again", "unconfirmed", None)
    db.session.execute(sa.update(Appeal).values(created_at=utcnow() - timedelta(days=91)))
    db.session.commit()
    assert services.purge_expired_personal_data() == 1  # the new personal data is not kept past retention either
    db.session.expire_all()
    assert db.session.scalar(sa.select(Appeal.name)) == ""


def test_purge_waits_for_messages_still_on_their_way(app, client, case):
    write_and_confirm(client, "old@example.net")
    db.session.execute(sa.update(Appeal).values(confirmed_at=utcnow() - timedelta(days=200)))
    db.session.commit()
    assert services.purge_expired_personal_data() == 0  # still queued: erasing would lose the letter


def test_erase_on_request_withdraws_unsent_letters_and_records_it(app, client, case, runner):
    write_and_confirm(client, "Jane@Example.net")
    before = figures(case)
    result = runner.invoke(args=["privacy", "erase", "jane@example.net"])
    assert result.exit_code == 0, result.output
    assert "erasure recorded" in result.output
    db.session.expire_all()
    appeal = db.session.scalar(sa.select(Appeal))
    assert appeal.email == "" and appeal.name == "" and appeal.letter == ""
    for message in outbox():
        assert message.raw == b""
        assert "jane" not in message.recipient.lower()
        if message.kind == "appeal":
            assert message.state == "failed" and message.last_reply.startswith("withdrawn")
    record = db.session.scalar(sa.select(ErasureRecord))
    assert record.kind == "request" and record.items_erased == 1 and record.subject_digest
    assert "jane" not in (record.note + record.performed_by).lower()
    assert figures(case) == before
    assert list(exports.opted_in_supporters_rows()) == []


def test_erase_refuses_something_that_is_not_an_address(runner):
    result = runner.invoke(args=["privacy", "erase", "not an address"])
    assert result.exit_code != 0 and "Error:" in result.output


def test_privacy_page_states_the_retention_period(client, app):
    body = client.get("/en/privacy/").get_data(as_text=True)
    assert "90 days after your letter was delivered" in body
    assert client.get("/ar/privacy/").status_code == 200


def test_logs_never_contain_an_email_address(app, caplog):
    with caplog.at_level(logging.INFO):
        logging.getLogger("app.anything").info("appeal from %s failed", "jane.doe+x@example.net")
        app.logger.warning("bounce for minister@justice.example.org")
    assert "example" not in caplog.text
    assert caplog.text.count("[email]") == 2
