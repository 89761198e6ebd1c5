"""A stranger who knows a supporter's address can neither rewrite their letter, nor block it, nor flood their inbox.

Every submission that rewrites an unconfirmed appeal is a new revision with a new link; earlier links say a newer
version was written. Held submissions (bot traps) stand apart. Limits count the normalised address. The start
token of a form is single-use and bound to the session.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.appeals.models import Appeal
from app.extensions import db
from app.models_base import utcnow
from app.privacy.services import purge_expired_personal_data
from tests.factories import make_case
from tests.test_appeals import confirm_link, form_data, outbox

APPEAL_URL = "/en/cases/ana/appeal/"


@pytest.fixture
def app_config(request):
    return getattr(request, "param", {})


@pytest.fixture
def case(app):
    case = make_case(
        slug="ana",
        person_name="Ana Example",
        targets=[{"name": "Ministry of Justice", "addresses": ["minister@justice.example.org"]}],
    )
    db.session.commit()
    return case


def appeals() -> list[Appeal]:
    db.session.expire_all()
    return list(db.session.scalars(sa.select(Appeal).order_by(Appeal.id)))


def sent_letters() -> list[str]:
    import email
    import email.policy

    return [email.message_from_bytes(m.raw, policy=email.policy.default).get_content() for m in outbox("appeal")]


def test_a_second_submission_invalidates_the_first_link_and_never_sends_the_strangers_text(client, case):
    client.post(APPEAL_URL, data=form_data(letter="The supporter's own letter."))
    genuine_link = confirm_link(outbox("confirmation")[0])
    # A stranger who knows the address writes "for" them, with their own text and consents.
    client.post(APPEAL_URL, data=form_data(letter="A stranger's text.", name="Jane Doe", consent_updates="y"))
    stranger_link = confirm_link(outbox("confirmation")[1])
    assert stranger_link != genuine_link

    response = client.post(genuine_link)
    assert response.status_code == 410
    page = response.get_data(as_text=True)
    assert "A newer version of this appeal was written" in page and "most recent confirmation email" in page
    assert client.get(genuine_link).status_code == 410  # the page itself says so, before any button
    assert outbox("appeal") == []
    [appeal] = appeals()
    assert appeal.state == "unconfirmed" and appeal.revision == 2


def test_the_confirmation_page_shows_exactly_what_will_be_sent(client, case):
    client.post(APPEAL_URL, data=form_data(letter="Please <b>free</b> Ana.", name="Zoé Martin", consent_reply="y"))
    link = confirm_link(outbox("confirmation")[0])
    page = client.get(link).get_data(as_text=True)
    assert "Free Ana Example" in page  # the subject
    assert "Please &lt;b&gt;free&lt;/b&gt; Ana." in page  # the letter, escaped
    assert "Zoé Martin" in page and "France" in page
    assert "Ministry of Justice" in page
    assert "The authorities may reply to you by email" in page
    assert "You will get no news of this case by email." in page
    assert outbox("appeal") == []  # looking sends nothing
    client.post(link)
    assert "Please <b>free</b> Ana." in sent_letters()[0]


def test_a_bot_trap_filled_with_someones_address_neither_replaces_nor_blocks_their_appeal(client, case):
    client.post(APPEAL_URL, data=form_data(letter="The supporter's own letter."))
    genuine_link = confirm_link(outbox("confirmation")[0])
    trapped = client.post(APPEAL_URL, data=form_data(letter="Spam", website="http://spam.example"))
    assert trapped.status_code == 302
    genuine, held = appeals()
    assert (genuine.state, genuine.letter, genuine.revision) == ("unconfirmed", "The supporter's own letter.", 1)
    assert held.state == "held" and held.letter == "Spam"
    assert client.post(genuine_link).status_code == 302
    assert sent_letters() and "The supporter's own letter." in sent_letters()[0]


def test_a_held_submission_first_does_not_block_the_genuine_one(client, case):
    client.post(APPEAL_URL, data=form_data(letter="Spam", website="http://spam.example"))
    client.post(APPEAL_URL, data=form_data(letter="Mine."))
    held, genuine = appeals()
    assert (held.state, genuine.state) == ("held", "unconfirmed")
    assert client.post(confirm_link(outbox("confirmation")[0])).status_code == 302
    assert "Mine." in sent_letters()[0]


def test_confirmation_limits_count_every_spelling_of_an_address(client, app, case):
    others = [make_case(slug=f"other-{n}") for n in range(9)]
    db.session.commit()
    spellings = ["jane@example.net", "JANE@example.net", "Jane@Example.NET", " jane@EXAMPLE.net"]
    for n, other in enumerate(others):
        client.post(f"/en/cases/{other.slug}/appeal/", data=form_data(email=spellings[n % len(spellings)]))
    assert len(outbox("confirmation")) == app.config["CONFIRMATIONS_PER_ADDRESS_PER_HOUR"]


def test_an_idn_domain_in_either_form_is_one_person(client, case):
    client.post(APPEAL_URL, data=form_data(email="jane@bücher.example"))
    client.post(confirm_link(outbox("confirmation")[0]))
    client.post(APPEAL_URL, data=form_data(email="JANE@xn--bcher-kva.example", letter="Again"))
    assert len(appeals()) == 1 and len(outbox("appeal")) == 1
    assert len(outbox("notice")) == 1


def test_a_mailbox_name_in_another_script_is_refused_with_a_clear_message(client, case):
    for lang, expected in [("en", "only unaccented letters"), ("fr", "que des lettres sans accent")]:
        response = client.post(f"/{lang}/cases/ana/appeal/", data=form_data(email="jörg@example.org"))
        assert response.status_code == 400
        assert expected in response.get_data(as_text=True)
    assert appeals() == []


def start_token(client) -> str:
    page = client.get(APPEAL_URL).get_data(as_text=True)
    return re.search(r'name="started" type="hidden" value="([^"]+)"', page).group(1)


@pytest.mark.parametrize("app_config", [{"FORM_MIN_FILL_SECONDS": 0.01}], indirect=True)
def test_a_start_token_is_single_use_and_bound_to_its_session(app, client, case):
    token = start_token(client)
    client.post(APPEAL_URL, data=form_data(started=token, email="first@example.net"))
    client.post(APPEAL_URL, data=form_data(started=token, email="second@example.net"))  # replayed
    stranger = app.test_client()
    stranger.post(APPEAL_URL, data=form_data(started=start_token(client), email="third@example.net"))
    first, second, third = appeals()
    assert first.state == "unconfirmed"
    assert second.state == "held" and third.state == "held"


def test_held_and_unconfirmed_appeals_are_erased_at_the_unconfirmed_horizon(client, app, case):
    client.post(APPEAL_URL, data=form_data(email="bot@example.net", website="http://spam.example"))
    client.post(APPEAL_URL, data=form_data(email="waiting@example.net"))
    hours = app.config["APPEAL_CONFIRM_HOURS"]
    assert purge_expired_personal_data(now=utcnow() + timedelta(hours=hours - 1)) == 0
    purge_expired_personal_data(now=utcnow() + timedelta(hours=hours + 1))
    db.session.commit()
    assert [(a.state, a.name, a.email, a.letter) for a in appeals()] == [
        ("held", "", "", ""),
        ("unconfirmed", "", "", ""),
    ]
