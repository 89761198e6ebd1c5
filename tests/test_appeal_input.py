"""Hostile and broken input in every appeal field: a clear error in the visitor's language, never a 500."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from app.appeals.models import Appeal
from app.extensions import db
from app.mail.models import OutboundMessage
from tests.factories import make_case
from tests.test_appeals import LETTER, form_data


@pytest.fixture
def case(app):
    case = make_case(slug="ana", person_name="Ana Example")
    db.session.commit()
    return case


def nothing_stored():
    db.session.expire_all()
    appeals = db.session.scalar(sa.select(sa.func.count()).select_from(Appeal))
    messages = db.session.scalar(sa.select(sa.func.count()).select_from(OutboundMessage))
    return appeals == 0 and messages == 0


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("name", "Jane\r\nBcc: victim@example.com", "This field must fit on one line."),
        ("name", "Jane\x00Doe", "could not be read"),
        ("name", "Jane \u202eeoD", "invisible direction characters"),
        ("name", "\u200b\u200b ", "Please fill in this field."),
        ("name", "x" * 101, "Field cannot be longer than 100 characters."),
        ("email", "jane@example.net\r\nBcc: victim@example.com", "This field must fit on one line."),
        ("email", "jane@example.net, victim@example.com", "Please enter"),
        ("email", "not-an-address", "Please enter a valid email address."),
        ("email", "", "Please fill in this field."),
        ("country", "XX", "Please choose your country."),
        ("country", "", "Please choose your country."),
        ("letter", "", "Please fill in this field."),
        ("letter", "\u200b\u200c\u200d\ufeff \n ", "Please fill in this field."),
        ("letter", "Dear Minister,\x00 release her", "could not be read"),
        ("letter", "Dear Minister \ufffd", "could not be read"),
        ("letter", "Dear\x1b[31m Minister", "invisible control characters"),
    ],
)
def test_bad_input_is_a_form_error(client, case, field, value, message):
    response = client.post("/en/cases/ana/appeal/", data=form_data(**{field: value}))
    assert response.status_code == 400
    body = response.get_data(as_text=True)
    assert message in body
    assert 'class="error-summary"' in body
    assert nothing_stored()


def test_invalid_utf8_bytes_are_a_form_error_not_a_500(client, case):
    body = (
        b"name=Jane+Doe&email=jane%40example.net&country=FR&consent_share=y&letter_language=en"
        b"&letter=Dear+Minister%2C+%FF%FE+release+her"
    )
    response = client.post("/en/cases/ana/appeal/", data=body, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 400
    assert "could not be read" in response.get_data(as_text=True)
    assert nothing_stored()


def test_a_very_long_letter_is_refused_and_kept_in_the_form(client, case):
    # 100,000 characters: far over the letter's limit, still under the form's body limit (FORM_MAX_BYTES, whose
    # 413 page tests/test_form_limits.py checks).
    letter = "Please release Ana. " * 5_000
    response = client.post("/en/cases/ana/appeal/", data=form_data(letter=letter))
    assert response.status_code == 400
    body = response.get_data(as_text=True)
    assert "please shorten it to 6,000 at most" in body
    assert letter[:5000] in body  # the text is kept for the supporter to shorten
    assert nothing_stored()


def test_a_request_over_the_size_limit_gets_a_clear_page(client, case):
    response = client.post("/en/cases/ana/appeal/", data=form_data(letter="x" * (3 * 1024 * 1024)))
    assert response.status_code == 413
    assert "too large" in response.get_data(as_text=True)


def test_html_script_and_sql_are_stored_and_shown_literally(client, case):
    hostile = "<script>alert(1)</script> Robert'); DROP TABLE appeals;-- <b>bold</b>"
    response = client.post("/en/cases/ana/appeal/", data=form_data(name=hostile[:100], letter=hostile))
    assert response.status_code == 302
    appeal = db.session.scalar(sa.select(Appeal))
    assert appeal.letter == hostile
    assert appeal.name == hostile[:100]
    # Shown back in the form (e.g. after another field's error): escaped, never markup.
    page = client.post("/en/cases/ana/appeal/", data=form_data(letter=hostile, country="")).get_data(as_text=True)
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_a_letter_with_a_lone_dot_line_and_commas_in_the_name_is_accepted(client, case):
    letter = LETTER + "\r\n.\r\nP.S.\r\n..\r\n"
    response = client.post("/en/cases/ana/appeal/", data=form_data(name="Doe, Jane", letter=letter))
    assert response.status_code == 302
    appeal = db.session.scalar(sa.select(Appeal))
    assert appeal.letter == (LETTER + "\n.\nP.S.\n..")
    assert appeal.name == "Doe, Jane"


def test_tampered_hidden_language_falls_back_to_the_page_language(client, case):
    response = client.post("/en/cases/ana/appeal/", data=form_data(letter_language="xx<script>"))
    assert response.status_code == 302
    appeal = db.session.scalar(sa.select(Appeal))
    assert appeal.letter_language == "en"


def test_honeypot_sends_the_submission_to_moderation_silently(client, case):
    response = client.post("/en/cases/ana/appeal/", data=form_data(website="http://spam.example"))
    assert response.status_code == 302 and "check-your-email" in response.headers["Location"]
    appeal = db.session.scalar(sa.select(Appeal))
    assert appeal.state == "held"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OutboundMessage)) == 0


@pytest.fixture
def app_config(request):
    return getattr(request, "param", {})


@pytest.mark.parametrize("app_config", [{"FORM_MIN_FILL_SECONDS": 3}], indirect=True)
def test_a_form_filled_too_fast_is_held(client, case):
    page = client.get("/en/cases/ana/appeal/").get_data(as_text=True)
    import re

    started = re.search(r'name="started" type="hidden" value="([^"]+)"', page).group(1)
    response = client.post("/en/cases/ana/appeal/", data=form_data(started=started))
    assert response.status_code == 302
    assert db.session.scalar(sa.select(Appeal)).state == "held"


@pytest.mark.parametrize("app_config", [{"WTF_CSRF_ENABLED": True}], indirect=True)
def test_a_missing_or_expired_csrf_token_returns_the_form_with_the_letter_intact(client, case):
    response = client.post("/en/cases/ana/appeal/", data=form_data(letter="My own careful words"))
    assert response.status_code == 400
    body = response.get_data(as_text=True)
    assert "My own careful words" in body
    assert "session" in body.lower() or "expired" in body.lower()
    assert nothing_stored()
