"""Rate limits: per client address, in the visitor's language, behind a configured number of proxies only."""

from __future__ import annotations

import uuid

import pytest

from app.extensions import db
from tests.factories import make_case
from tests.test_appeals import form_data


@pytest.fixture
def app_config(request):
    return {
        "RATELIMIT_ENABLED": True,
        "APPEAL_RATE_LIMIT": "2/minute",
        "RATELIMIT_KEY_PREFIX": f"inkwell-test-{uuid.uuid4().hex}",
        **getattr(request, "param", {}),
    }


@pytest.fixture
def case(app):
    make_case(slug="ana")
    db.session.commit()


def post(client, **environ):
    return client.post("/fr/cases/ana/appeal/", data=form_data(country=""), environ_base=environ)


def test_too_many_posts_get_a_429_page_in_the_visitors_language(client, case):
    assert post(client).status_code == 400  # a form error still counts as an attempt
    assert post(client).status_code == 400
    response = post(client)
    assert response.status_code == 429
    body = response.get_data(as_text=True)
    assert '<html lang="fr"' in body
    assert "Too many requests" not in body  # translated (the French catalogue is complete)
    assert "Retry-After" in response.headers or "X-RateLimit-Reset" in response.headers
    assert client.get("/fr/cases/ana/appeal/").status_code == 200  # reading the form is never limited


def test_forwarded_for_is_ignored_without_a_trusted_proxy(client, case):
    post(client, HTTP_X_FORWARDED_FOR="198.51.100.1")
    post(client, HTTP_X_FORWARDED_FOR="198.51.100.2")
    assert post(client, HTTP_X_FORWARDED_FOR="198.51.100.3").status_code == 429


@pytest.mark.parametrize("app_config", [{"PROXY_COUNT": 1}], indirect=True)
def test_forwarded_for_counts_per_client_behind_one_proxy(client, case):
    for _ in range(2):
        post(client, HTTP_X_FORWARDED_FOR="198.51.100.1")
    assert post(client, HTTP_X_FORWARDED_FOR="198.51.100.1").status_code == 429
    assert post(client, HTTP_X_FORWARDED_FOR="198.51.100.2").status_code == 400  # another supporter
    # A client cannot escape by prepending its own address: only the proxy's entry is trusted.
    assert post(client, HTTP_X_FORWARDED_FOR="203.0.113.9, 198.51.100.1").status_code == 429
