"""Messages of hope: the form, its checks and flags, the counter, the public wall."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from app.cases import services as cases
from app.extensions import db
from app.moderation import services as moderation
from app.solidarity.models import SolidarityLetter
from tests.factories import make_case


@pytest.fixture
def case(app):
    case = make_case(slug="ana", person_name="Ana Example", person_language="pt", wall_public=True)
    db.session.commit()
    return case


def hope(**overrides):
    data = {"first_name": "Jane", "country": "FR", "language": "en", "message": "You are not alone, Ana."}
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def letters():
    db.session.expire_all()
    return list(db.session.scalars(sa.select(SolidarityLetter).order_by(SolidarityLetter.id)))


def test_form_offers_greetings_in_the_page_language_and_the_persons_own(client, case):
    page = client.get("/en/cases/ana/hope/").get_data(as_text=True)
    assert "You are not alone." in page
    assert 'lang="pt"' in page and "Você não está só." in page
    french = client.get("/fr/cases/ana/hope/").get_data(as_text=True)
    assert "Vous n" in french and "Você não está só." in french


def solidarity_count(case) -> int:
    return cases.totals_for([case.id]).get(case.id, cases.CaseTotals()).solidarity


def test_a_message_waits_for_moderation_and_counts_once_approved(client, case, staff):
    response = client.post("/en/cases/ana/hope/", data=hope())
    assert response.status_code == 302 and response.headers["Location"].endswith("/en/cases/ana/hope/sent/")
    assert "read" in client.get(response.headers["Location"]).get_data(as_text=True)
    [letter] = letters()
    assert (letter.state, letter.first_name, letter.flags) == ("pending", "Jane", "")
    assert solidarity_count(case) == 0  # a bot's or a rejected message never counts
    assert "You are not alone, Ana." not in client.get("/en/cases/ana/wall/").get_data(as_text=True)
    assert moderation.moderate([letter.id], "approve", staff[0]) == 1
    db.session.commit()
    assert solidarity_count(case) == 1
    assert moderation.moderate([letter.id], "approve", staff[0]) == 0  # decided once: counted once
    db.session.commit()
    assert solidarity_count(case) == 1


def test_anonymous_messages_sign_as_a_friend_on_the_wall(client, case):
    client.post("/en/cases/ana/hope/", data=hope(first_name=""))
    letter = letters()[0]
    letter.state = "approved"
    db.session.commit()
    wall = client.get("/en/cases/ana/wall/").get_data(as_text=True)
    assert "You are not alone, Ana." in wall and "A friend" in wall


@pytest.mark.parametrize(
    ("message", "flag"),
    [
        ("Visit http://example.com for more", "link"),
        ("Write to me at jane@example.net", "email"),
        ("Call me on +33 6 12 34 56 78", "phone"),
        ("Hope " * 200, "long"),
        ("Send news to 12 rue des Lilas", "address"),
        ("They should kill the traitor", "blocklist"),
    ],
)
def test_automatic_flags_help_the_moderator(client, case, message, flag):
    client.post("/en/cases/ana/hope/", data=hope(message=message))
    assert flag in letters()[0].flag_list
    assert letters()[0].state == "pending"  # a flag never decides alone


def test_honeypot_flags_the_message_silently(client, case):
    response = client.post("/en/cases/ana/hope/", data=hope(website="http://spam.example"))
    assert response.status_code == 302
    assert "automated" in letters()[0].flag_list


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        ({"message": "x" * 100_000}, "please keep it to 1,500"),
        ({"message": "\u200b \u200b"}, "Please fill in this field."),
        ({"first_name": "Jane\u202e"}, "invisible direction characters"),
        ({"first_name": "Jane\r\nDoe"}, "This field must fit on one line."),
        ({"country": "ZZ"}, "Please choose your country."),
        ({"language": "xx"}, "Not a valid choice"),
    ],
)
def test_bad_input_is_refused_with_the_text_kept(client, case, overrides, error):
    response = client.post("/en/cases/ana/hope/", data=hope(**overrides))
    assert response.status_code == 400
    body = response.get_data(as_text=True)
    assert error in body
    assert letters() == []


def test_hostile_text_is_shown_literally_on_the_wall(client, case):
    hostile = "<script>alert(1)</script><b>hi</b>"
    client.post("/en/cases/ana/hope/", data=hope(message=hostile))
    letter = letters()[0]
    letter.state = "approved"
    db.session.commit()
    wall = client.get("/en/cases/ana/wall/").get_data(as_text=True)
    assert "<script>alert(1)" not in wall and "&lt;script&gt;alert(1)&lt;/script&gt;" in wall


def test_the_wall_is_off_unless_the_case_opts_in(client, app):
    make_case(slug="private", wall_public=False)
    db.session.commit()
    assert client.get("/en/cases/private/wall/").status_code == 404
    assert "Read the messages of hope" not in client.get("/en/cases/private/").get_data(as_text=True)


def test_closed_cases_take_no_messages(client, app):
    make_case(slug="freed", status="success")
    db.session.commit()
    assert client.get("/en/cases/freed/hope/").status_code == 404


def test_full_names_and_repeated_texts_are_flagged(client, case):
    client.post("/en/cases/ana/hope/", data=hope(first_name="Jane Doe"))
    client.post("/en/cases/ana/hope/", data=hope(first_name="Sam"))
    first, second = letters()
    assert "surname" in first.flag_list and "repeated" not in first.flag_list
    assert "repeated" in second.flag_list and "surname" not in second.flag_list


@pytest.fixture
def app_config(request):
    return getattr(request, "param", {})


@pytest.mark.parametrize("app_config", [{"WTF_CSRF_ENABLED": True}], indirect=True)
def test_a_message_without_a_valid_csrf_token_is_refused_and_kept(client, case):
    words = "Ana, we are many and we are with you."
    response = client.post("/en/cases/ana/hope/", data=hope(message=words))
    assert response.status_code == 400
    body = response.get_data(as_text=True)
    assert "Your session expired while you were writing" in body and words in body
    assert letters() == [] and solidarity_count(case) == 0
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', body).group(1)
    assert client.post("/en/cases/ana/hope/", data={**hope(message=words), "csrf_token": token}).status_code == 302
    assert [letter.message for letter in letters()] == [words]


@pytest.mark.parametrize("app_config", [{"FORM_MIN_FILL_SECONDS": 30}], indirect=True)
def test_a_form_filled_too_fast_goes_to_moderation_flagged(client, case):
    page = client.get("/en/cases/ana/hope/").get_data(as_text=True)
    started = re.search(r'name="started" type="hidden" value="([^"]+)"', page).group(1)
    assert client.post("/en/cases/ana/hope/", data={**hope(), "started": started}).status_code == 302
    assert client.post("/en/cases/ana/hope/", data={**hope(), "started": "forged"}).status_code == 302
    assert [letter.flag_list for letter in letters()] == [["automated"], ["repeated", "automated"]]


def test_the_case_page_links_to_the_form_and_counts_approved_messages(client, case, staff):
    client.post("/en/cases/ana/hope/", data=hope())
    client.post("/en/cases/ana/hope/", data=hope(message="x" * 5000))  # refused: not counted
    client.post("/en/cases/ana/hope/", data=hope(website="http://spam.example"))  # a trap: never counted
    page = client.get("/en/cases/ana/").get_data(as_text=True)
    assert 'href="/en/cases/ana/hope/"' in page and 'href="/en/cases/ana/wall/"' in page
    assert solidarity_count(case) == 0
    genuine, trapped = letters()
    moderation.moderate([genuine.id], "approve", staff[0])
    moderation.moderate([trapped.id], "reject", staff[0], reason="spam")
    db.session.commit()
    assert solidarity_count(case) == 1


def test_the_wall_shows_only_approved_messages_with_first_name_and_country(client, case):
    for state, text in (("approved", "Shown"), ("pending", "Waiting"), ("rejected", "Refused")):
        db.session.add(
            SolidarityLetter(case_id=case.id, first_name="Jane", country="FR", language="en", message=text, state=state)
        )
    db.session.commit()
    wall = client.get("/en/cases/ana/wall/").get_data(as_text=True)
    assert "Shown" in wall and "Waiting" not in wall and "Refused" not in wall
    assert "Jane" in wall and "France" in wall
