"""Appeals through the web form: validation, confirmation, queueing, duplicates, tokens, expiry."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.appeals import services
from app.appeals.models import Appeal, DigestEntry
from app.cases import services as cases
from app.extensions import db
from app.mail.models import OutboundMessage
from app.models_base import utcnow
from tests.factories import make_case

LETTER = "Dear Minister,\n\nPlease release Ana Example.\n\nYours sincerely,"


@pytest.fixture
def case(app):
    case = make_case(
        slug="ana",
        person_name="Ana Example",
        targets=[
            {
                "name": "Ministry of Justice",
                "title": "Minister of Justice",
                "addresses": ["minister@justice.example.org"],
            },
            {"name": "Prosecutor", "addresses": ["one@prosecutor.example.org", "two@prosecutor.example.org"]},
        ],
    )
    db.session.commit()
    return case


def form_data(**overrides):
    data = {
        "name": "Jane Doe",
        "email": "jane@example.net",
        "country": "FR",
        "letter": LETTER,
        "letter_language": "en",
        "consent_share": "y",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def outbox(kind=None):
    query = sa.select(OutboundMessage).order_by(OutboundMessage.id)
    if kind:
        query = query.where(OutboundMessage.kind == kind)
    db.session.expire_all()
    return list(db.session.scalars(query))


def confirm_link(message: OutboundMessage) -> str:
    import email
    import email.policy

    body = email.message_from_bytes(message.raw, policy=email.policy.default).get_content()
    return re.search(r"http://localhost(/\S+)", body).group(1)


def test_form_is_prefilled_with_the_case_template_in_the_page_language(client, case):
    page = client.get("/en/cases/ana/appeal/").get_data(as_text=True)
    assert "Please release Ana Example." in page
    assert "Free Ana Example" in page  # the subject line is the case's
    assert 'name="consent_share"' in page and 'name="consent_updates"' in page
    assert 'name="country"' in page and ">France</option>" in page


def test_country_list_is_localised(client, case):
    page = client.get("/fr/cases/ana/appeal/").get_data(as_text=True)
    assert ">Allemagne</option>" in page


def test_submission_asks_for_confirmation_and_queues_nothing_for_authorities(client, case):
    response = client.post("/en/cases/ana/appeal/", data=form_data())
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/en/cases/ana/appeal/check-your-email/")
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Check your email" in page
    [confirmation] = outbox()
    assert confirmation.kind == "confirmation"
    assert confirmation.recipient == "jane@example.net"
    appeal = db.session.scalar(sa.select(Appeal))
    assert appeal.state == "unconfirmed"
    assert cases.totals_for([case.id]) == {}


def test_confirmation_email_never_echoes_what_the_visitor_typed(client, case):
    client.post(
        "/en/cases/ana/appeal/",
        data=form_data(name="Buy cheap pills at spam.example", letter="Visit http://spam.example now"),
    )
    [confirmation] = outbox()
    raw = confirmation.raw.decode("utf-8", "replace")
    assert "spam.example" not in raw and "pills" not in raw
    assert "Ana Example" in raw  # the case's name, which is ours


def test_confirming_queues_one_email_per_target_address_and_counts_once(client, case):
    client.post("/en/cases/ana/appeal/", data=form_data())
    link = confirm_link(outbox("confirmation")[0])
    assert client.get(link).status_code == 200  # a page with a button; GETs by mail scanners confirm nothing
    assert outbox("appeal") == []
    response = client.post(link)
    assert response.status_code == 302 and "/thanks/" in response.headers["Location"]
    messages = outbox("appeal")
    assert sorted(m.recipient for m in messages) == [
        "minister@justice.example.org",
        "one@prosecutor.example.org",
        "two@prosecutor.example.org",
    ]
    assert all(m.state == "pending" for m in messages)
    assert cases.totals_for([case.id])[case.id].appeals == 1

    # Clicking again changes nothing.
    assert client.post(link).status_code == 302
    assert len(outbox("appeal")) == 3
    assert cases.totals_for([case.id])[case.id].appeals == 1

    thanks = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Thank you" in thanks and "/en/appeals/" in thanks
    assert "http://localhost/en/cases/ana/" in thanks


def test_status_page_shows_each_messages_fate(client, case):
    client.post("/en/cases/ana/appeal/", data=form_data())
    thanks = client.post(confirm_link(outbox("confirmation")[0])).headers["Location"]
    status_url = thanks.replace("/thanks/", "/")
    page = client.get(status_url).get_data(as_text=True)
    assert page.count("Queued") == 3
    first, second, third = outbox("appeal")
    first.state, first.sent_at = "sent", utcnow()
    second.state, second.last_reply = "failed", "550 5.1.1 mailbox unavailable"
    db.session.commit()
    page = client.get(status_url).get_data(as_text=True)
    assert "Delivered to their mail server on" in page
    assert "550 5.1.1 mailbox unavailable" in page
    assert response_headers_private(client.get(status_url))


def response_headers_private(response) -> bool:
    return response.headers["Cache-Control"] == "no-store" and response.headers["Referrer-Policy"] == "no-referrer"


def test_authority_email_is_from_the_platform_with_the_supporters_name(client, case):
    client.post("/en/cases/ana/appeal/", data=form_data(name="Doe, Jane"))
    client.post(confirm_link(outbox("confirmation")[0]))
    message = outbox("appeal")[0]
    import email
    import email.policy

    parsed = email.message_from_bytes(message.raw, policy=email.policy.default)
    assert parsed["From"].addresses[0].addr_spec == "appeals@inkwell.example.org"
    assert parsed["From"].addresses[0].display_name == "Doe, Jane via Inkwell"
    assert parsed["Reply-To"] is None  # no consent to replies
    assert parsed["Subject"] == "Free Ana Example"
    body = parsed.get_content().replace("\r\n", "\n")
    assert body.startswith(LETTER)
    assert "Doe, Jane\nFrance" in body
    assert message.message_id == parsed["Message-ID"]


def test_reply_to_only_with_consent(client, case):
    client.post("/en/cases/ana/appeal/", data=form_data(consent_reply="y"))
    client.post(confirm_link(outbox("confirmation")[0]))
    import email

    parsed = email.message_from_bytes(outbox("appeal")[0].raw)
    assert parsed["Reply-To"] == "jane@example.net"


def test_consent_to_share_is_required(client, case):
    response = client.post("/en/cases/ana/appeal/", data=form_data(consent_share=None))
    assert response.status_code == 400
    assert "We can only send your letter with your name and country." in response.get_data(as_text=True)
    assert outbox() == []


def test_same_person_twice_is_not_sent_twice_and_is_told_by_email(client, case):
    client.post("/en/cases/ana/appeal/", data=form_data())
    client.post(confirm_link(outbox("confirmation")[0]))
    response = client.post("/en/cases/ana/appeal/", data=form_data(email="JANE@example.net", letter="Again"))
    assert response.status_code == 302  # the page does not reveal who wrote before
    notices = outbox("notice")
    assert len(notices) == 1 and notices[0].recipient == "jane@example.net"  # the confirmed address
    assert "already" in notices[0].subject
    assert len(outbox("appeal")) == 3
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Appeal)) == 1


@pytest.fixture
def app_config(request):
    return getattr(request, "param", {})


@pytest.mark.parametrize("app_config", [{"APPEAL_CONFIRMATION": False}], indirect=True)
def test_without_confirmation_the_appeal_is_queued_at_once(client, case):
    response = client.post("/en/cases/ana/appeal/", data=form_data())
    assert "/thanks/" in response.headers["Location"]
    assert [m.kind for m in outbox()] == ["appeal"] * 3
    again = client.post("/en/cases/ana/appeal/", data=form_data())
    assert again.status_code == 409
    assert "already sent an appeal" in again.get_data(as_text=True)


def test_confirmation_emails_per_address_are_limited(client, app, case):
    others = [make_case(slug=f"other-{n}") for n in range(4)]
    db.session.commit()
    client.post("/en/cases/ana/appeal/", data=form_data())
    for other in others:
        client.post(f"/en/cases/{other.slug}/appeal/", data=form_data())
    assert len(outbox("confirmation")) == app.config["CONFIRMATIONS_PER_ADDRESS_PER_HOUR"]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Appeal)) == 5


def test_expired_token_is_refused_and_nothing_is_queued(client, app, case):
    client.post("/en/cases/ana/appeal/", data=form_data())
    link = confirm_link(outbox("confirmation")[0])
    app.config["APPEAL_CONFIRM_HOURS"] = 0
    import time

    time.sleep(1.1)
    response = client.post(link)
    assert response.status_code == 410
    assert "expired" in response.get_data(as_text=True)
    assert outbox("appeal") == []


def test_tampered_token_is_not_found(client, case):
    client.post("/en/cases/ana/appeal/", data=form_data())
    link = confirm_link(outbox("confirmation")[0])
    tampered = link[:-3] + ("A" if link[-3] != "A" else "B") + link[-2:]
    assert client.post(tampered).status_code == 404
    assert client.get("/en/appeals/not-a-token/").status_code == 404
    assert outbox("appeal") == []


def test_unconfirmed_appeals_expire_and_are_never_sent(client, app, case):
    client.post("/en/cases/ana/appeal/", data=form_data())
    link = confirm_link(outbox("confirmation")[0])
    assert services.expire_unconfirmed(utcnow() + timedelta(hours=49)) == 1
    db.session.commit()
    appeal = db.session.scalar(sa.select(Appeal))
    assert appeal.state == "expired" and appeal.letter == ""
    assert client.post(link).status_code == 410
    assert outbox("appeal") == []


def test_expired_appeal_can_be_written_again(client, case):
    client.post("/en/cases/ana/appeal/", data=form_data())
    services.expire_unconfirmed(utcnow() + timedelta(hours=49))
    db.session.commit()
    client.post("/en/cases/ana/appeal/", data=form_data(letter="A new letter"))
    db.session.expire_all()
    appeal = db.session.scalar(sa.select(Appeal))
    assert appeal.state == "unconfirmed" and appeal.letter == "A new letter"


def test_digest_targets_get_one_daily_email_with_the_letters_attached(client, app):
    case = make_case(
        slug="digest",
        targets=[{"name": "Embassy", "digest": True, "addresses": ["desk@embassy.example.org"]}],
    )
    db.session.commit()
    app.config["APPEAL_CONFIRMATION"] = False
    for n in range(3):
        client.post("/en/cases/digest/appeal/", data=form_data(email=f"s{n}@example.net", name=f"Writer {n}"))
    assert outbox("appeal") == []
    assert db.session.scalar(sa.select(sa.func.count()).select_from(DigestEntry)) == 3
    noon = utcnow().replace(hour=12)
    assert services.build_due_digests(noon) == 1
    db.session.commit()
    assert services.build_due_digests(noon) == 0  # once a day
    [digest] = outbox("digest")
    assert digest.recipient == "desk@embassy.example.org"
    assert digest.subject.startswith("3 appeals")
    import email
    import email.policy

    parsed = email.message_from_bytes(digest.raw, policy=email.policy.default)
    [attachment] = list(parsed.iter_attachments())
    letters = attachment.get_content()
    assert all(f"Writer {n}" in letters for n in range(3))
    assert case.id


def test_closed_and_unknown_cases_have_no_form(client, app):
    make_case(slug="freed", status="success")
    make_case(slug="no-targets", targets=[])
    db.session.commit()
    assert client.get("/en/cases/freed/appeal/").status_code == 404
    assert client.get("/en/cases/no-targets/appeal/").status_code == 404
    assert client.get("/en/cases/nobody/appeal/").status_code == 404


@pytest.mark.postgres_only
def test_double_submit_from_two_tabs_at_once_stores_one_appeal(client, app, case):
    import threading

    barrier = threading.Barrier(4)
    statuses = []

    def submit():
        barrier.wait()
        statuses.append(client.post("/en/cases/ana/appeal/", data=form_data()).status_code)

    threads = [threading.Thread(target=submit) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(statuses) == [302] * 4  # never a 500, whichever tab wins
    db.session.expire_all()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Appeal)) == 1
    assert len(outbox("confirmation")) >= 1
