"""The appeal form's HTML is reused for a few seconds, with fresh per-visitor tokens, and never when it must not be."""

from __future__ import annotations

import re

import pytest

from app.extensions import db
from app.pagecache import form_pages
from tests.factories import make_case
from tests.test_appeals import form_data


@pytest.fixture
def cached(app):
    app.config["FORM_PAGE_CACHE_SECONDS"] = 60
    app.config["WTF_CSRF_ENABLED"] = True
    form_pages.clear()
    case = make_case(slug="ana")
    db.session.commit()
    yield case
    form_pages.clear()


def tokens(html: str) -> tuple[str, str]:
    csrf = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)
    started = re.search(r'name="started" type="hidden" value="([^"]*)"', html).group(1)
    return csrf, started


def edit_headline(case, text: str) -> None:
    case.translation("en").headline = text
    case.translation("en").ask = text
    db.session.commit()


def test_the_page_is_reused_with_fresh_tokens_that_work(client, app, cached):
    first = client.get("/en/cases/ana/appeal/").get_data(as_text=True)
    edit_headline(cached, "Edited while the page is cached")
    other_visitor = app.test_client()
    second = other_visitor.get("/en/cases/ana/appeal/").get_data(as_text=True)
    assert "Edited while the page is cached" not in second  # the same HTML, from the cache
    assert tokens(first)[0] != tokens(second)[0] and tokens(first)[1] != tokens(second)[1]
    assert "\x00" not in second
    csrf, started = tokens(second)
    response = other_visitor.post(
        "/en/cases/ana/appeal/", data=form_data(csrf_token=csrf, started=started, letter_language="en")
    )
    assert response.status_code == 302  # the cached page's fresh token is valid for its visitor
    # Another visitor's token is not valid for this one: each token is tied to its own session.
    stranger = app.test_client()
    stranger.get("/en/cases/ana/appeal/")
    refused = stranger.post("/en/cases/ana/appeal/", data=form_data(csrf_token=tokens(first)[0], email="x@example.net"))
    assert refused.status_code == 400


def test_languages_and_letter_languages_are_cached_apart(client, cached):
    english = client.get("/en/cases/ana/appeal/").get_data(as_text=True)
    french = client.get("/fr/cases/ana/appeal/").get_data(as_text=True)
    assert 'lang="en"' in english.split(">", 2)[1] and 'lang="fr"' in french.split(">", 2)[1]


def test_not_cached_when_turned_off_or_for_unexpected_queries(client, app, cached):
    client.get("/en/cases/ana/appeal/?utm_source=x")
    edit_headline(cached, "Fresh headline")
    assert "Fresh headline" in client.get("/en/cases/ana/appeal/?utm_source=x").get_data(as_text=True)
    app.config["FORM_PAGE_CACHE_SECONDS"] = 0
    edit_headline(cached, "Fresher headline")
    assert "Fresher headline" in client.get("/en/cases/ana/appeal/").get_data(as_text=True)


def test_a_closed_case_is_never_served_from_the_cache_for_posting(client, cached):
    page = client.get("/en/cases/ana/appeal/").get_data(as_text=True)
    cached.status = "success"
    db.session.commit()
    csrf, started = tokens(page)
    response = client.post("/en/cases/ana/appeal/", data=form_data(csrf_token=csrf, started=started))
    assert response.status_code == 404  # what is accepted is checked against the database, not the cached page
