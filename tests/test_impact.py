"""The impact loop: supporters who asked for news hear what happened, once, in their language, paced."""

from __future__ import annotations

import email
import email.policy
import re
from datetime import date

import pytest
import sqlalchemy as sa

from app.appeals.models import Appeal
from app.extensions import db
from tests.factories import add_update, make_case
from tests.test_appeals import confirm_link, form_data, outbox


@pytest.fixture
def case(app):
    case = make_case(
        slug="ana",
        person_name="Ana Example",
        content={
            "en": {"headline": "x", "appeal_subject": "Free Ana", "appeal_template": "Dear Minister,"},
            "fr": {"headline": "x", "appeal_subject": "Libérez Ana", "appeal_template": "Monsieur le Ministre,"},
        },
    )
    db.session.commit()
    return case


def supporter(client, email_address, locale="en", news=True):
    client.post(
        f"/{locale}/cases/ana/appeal/",
        data=form_data(email=email_address, letter_language=locale, consent_updates="y" if news else None),
    )
    [confirmation] = [m for m in outbox("confirmation") if m.recipient == email_address]
    client.post(confirm_link(confirmation))


def test_supporters_who_asked_get_one_paced_email_with_one_click_unsubscribe(client, runner, case):
    supporter(client, "a@example.net")
    supporter(client, "b@example.net", locale="fr")
    supporter(client, "quiet@example.net", news=False)
    add_update(case, date(2026, 12, 20), "release", {"en": "Ana was released today.", "fr": "Ana a été libérée."})
    db.session.commit()

    result = runner.invoke(args=["appeals", "notify", "ana"])
    assert result.exit_code == 0 and "2 emails queued" in result.output
    assert runner.invoke(args=["appeals", "notify", "ana"]).output.startswith("0 emails")  # once per supporter

    news = sorted(outbox("impact"), key=lambda m: m.recipient)
    assert [m.recipient for m in news] == ["a@example.net", "b@example.net"]
    assert news[1].next_attempt_at > news[0].next_attempt_at or news[0].next_attempt_at > news[1].next_attempt_at
    english = email.message_from_bytes(news[0].raw, policy=email.policy.default)
    french = email.message_from_bytes(news[1].raw, policy=email.policy.default)
    assert "Ana was released today." in english.get_content()
    assert "Ana a été libérée." in french.get_content()
    assert english["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    link = re.search(r"<http://localhost(/\S+)>", english["List-Unsubscribe"]).group(1)

    # One click from the mail client: a POST without any form token.
    response = client.post(link, data={"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    db.session.expire_all()
    assert db.session.scalar(sa.select(Appeal.consent_updates).where(Appeal.email == "a@example.net")) is False
    add_update(case, date(2026, 12, 21), "update", {"en": "A second piece of news."})
    db.session.commit()
    assert "1 emails queued" in runner.invoke(args=["appeals", "notify", "ana"]).output


def test_unsubscribe_link_shows_a_button_and_refuses_forgeries(client, case):
    supporter(client, "a@example.net")
    assert client.get("/en/appeals/unsubscribe/forged/").status_code == 200  # the page; nothing changes on GET
    assert client.post("/en/appeals/unsubscribe/forged/", data={"List-Unsubscribe": "One-Click"}).status_code == 404


def test_notify_an_unknown_case_is_one_clear_error(runner, case):
    result = runner.invoke(args=["appeals", "notify", "nobody"])
    assert result.exit_code != 0 and "no case 'nobody'" in result.output
