"""Form bodies cost what a form is worth: bounded before they are read, parsed once and only by the view that asks,
after its rate limit; and the appeal page cache keeps to what every visitor would see.

Work is counted in bytes read from the request body (a stream that records how far it was read), not timed, except
for one comparison with an ordinary form post measured in the same test.
"""

from __future__ import annotations

import io
import time
import uuid
from urllib.parse import quote_from_bytes

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.extensions import db
from app.pagecache import form_pages
from tests.factories import make_case, sign_in
from tests.test_appeals import form_data

FLOOD = b"a=&" * (2 * 1024 * 1024 // 3)  # 2 MB of empty fields: half a second of parsing before


RATE_LIMITED = {"RATELIMIT_ENABLED": True, "APPEAL_RATE_LIMIT": "1/minute"}


@pytest.fixture
def app_config(request):
    config = getattr(request, "param", {})
    return {**config, "RATELIMIT_KEY_PREFIX": f"inkwell-test-{uuid.uuid4().hex}"} if config else {}


@pytest.fixture
def case(app):
    case = make_case(slug="ana")
    db.session.commit()
    return case


def post_stream(client, path: str, body: bytes, content_type: str = "application/x-www-form-urlencoded"):
    """POST `body` from a stream; returns the response and how many bytes of the body the app read."""
    stream = io.BytesIO(body)
    response = client.post(path, input_stream=stream, content_type=content_type, content_length=len(body))
    response.get_data()
    return response, stream.tell()


def test_a_post_to_a_page_that_does_not_exist_is_never_read(client, case):
    response, read = post_stream(client, "/en/cases/ana/no-such-page/", FLOOD)
    assert response.status_code == 404
    assert read == 0


def test_a_visitors_form_over_the_limit_is_refused_unread_and_a_long_letter_in_any_script_fits(app, client, case):
    body = b"letter=" + b"x" * app.config["FORM_MAX_BYTES"]
    response, read = post_stream(client, "/en/cases/ana/appeal/", body)
    assert response.status_code == 413
    assert "too large" in response.get_data(as_text=True)
    assert read == 0
    multipart = b"--b\r\nContent-Disposition: form-data; name=letter\r\n\r\n" + b"x" * len(body) + b"\r\n--b--\r\n"
    response, read = post_stream(client, "/en/cases/ana/appeal/", multipart, "multipart/form-data; boundary=b")
    assert (response.status_code, read) == (413, 0)
    # The limit is far above any letter the form accepts, in any script (four-byte characters included).
    for n, letter in enumerate(("é" * 6000, "愛" * 6000, "𝄞" * 6000, "رسالة " * 1000)):
        response = client.post("/en/cases/ana/appeal/", data=form_data(letter=letter, email=f"jane{n}@example.net"))
        assert response.status_code == 302, (len(letter.encode()), response.status_code)


@pytest.mark.parametrize("app_config", [RATE_LIMITED], indirect=True)
def test_the_rate_limit_answers_before_the_body_is_read(client, case):
    assert client.post("/en/cases/ana/appeal/", data=form_data(country="")).status_code == 400  # counts
    response, read = post_stream(client, "/en/cases/ana/appeal/", b"name=Jane&" + b"x" * 60_000)
    assert response.status_code == 429
    assert read == 0


def test_thousands_of_empty_fields_are_refused_without_parsing_them(app, client, case):
    flood = FLOOD[: app.config["FORM_MAX_BYTES"] - 1]  # under the byte limit, over the number of fields
    response, read = post_stream(client, "/en/cases/ana/appeal/", flood)
    assert response.status_code == 413
    assert read == len(flood)


def test_a_flood_of_fields_costs_less_than_an_ordinary_form_post(client, case):
    def cost(send) -> float:
        timings = []
        for _ in range(5):
            start = time.perf_counter()
            send()
            timings.append(time.perf_counter() - start)
        return min(timings)

    ordinary = cost(lambda: client.post("/en/cases/ana/appeal/", data=form_data(country="")).get_data())
    flood = cost(lambda: post_stream(client, "/en/cases/ana/appeal/", FLOOD))
    assert flood < max(ordinary, 0.05), (flood, ordinary)


def test_signed_in_staff_keep_the_larger_limit_for_case_content(app, client, case, staff):
    story = "我们记得你。" * 3000  # 18,000 characters (the story takes 20,000): 162 KB once percent-encoded
    content = {"en-headline": "A headline", "en-story": story, "en-appeal_template": "Dear Minister,"}
    response = client.post("/en/cases/ana/appeal/", data=form_data(letter=story))
    assert response.status_code == 413  # from a visitor, the same body is too large
    assert sign_in(client, "admin@inkwell.example.org").status_code == 302
    response = client.post(f"/admin/cases/{case.id}/content/en", data=content)
    assert response.status_code == 302, response.status_code
    db.session.expire_all()
    assert case.translation("en").story == story.strip()


@pytest.fixture
def cached_form(app, case):
    app.config["FORM_PAGE_CACHE_SECONDS"] = 60
    form_pages.clear()
    yield case
    form_pages.clear()


def test_what_one_visitor_puts_in_the_query_never_reaches_the_others(app, client, cached_form):
    poisoned = client.get("/en/cases/ana/appeal/?letter_language=en&letter_language=%3Cx-poison%3E")
    assert "x-poison" in poisoned.get_data(as_text=True)  # the language links repeat the query (escaped)
    for url in ("/en/cases/ana/appeal/", "/en/cases/ana/appeal/?letter_language=en"):
        page = app.test_client().get(url).get_data(as_text=True)
        assert "x-poison" not in page, url
        assert 'name="letter_language" type="hidden" value="en"' in page


def test_made_up_languages_cannot_push_the_real_pages_out_of_the_cache(app, client, cached_form):
    for n in range(300):
        client.get(f"/en/cases/ana/appeal/?letter_language=zz{n}")
    other = app.test_client()
    other.get("/en/cases/ana/appeal/")
    cached_form.translation("en").headline = "Edited while the page is cached"
    cached_form.translation("en").ask = "Edited while the page is cached"
    db.session.commit()
    assert "Edited while the page is cached" not in other.get("/en/cases/ana/appeal/").get_data(as_text=True)


SMALL_LIMIT = {"FORM_MAX_BYTES": 2048}
fields = st.sampled_from(["name", "email", "country", "letter", "letter_language", "consent_share", "started", "x"])
raw_value = st.binary(max_size=600)  # any bytes: raw, or percent-encoded below, valid UTF-8 or not


@pytest.mark.parametrize("app_config", [SMALL_LIMIT], indirect=True)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(parts=st.lists(st.tuples(fields, raw_value, st.booleans()), max_size=12), padding=st.integers(0, 4096))
def test_any_form_body_is_answered_without_a_5xx_and_read_only_under_the_limit(client, case, parts, padding):
    parts.append(("letter", b"x" * padding, False))
    body = b"&".join(
        name.encode() + b"=" + (quote_from_bytes(value).encode() if escaped else value)
        for name, value, escaped in parts
    )
    response, read = post_stream(client, "/en/cases/ana/appeal/", body)
    assert response.status_code < 500
    if len(body) > SMALL_LIMIT["FORM_MAX_BYTES"]:
        assert (response.status_code, read) == (413, 0)
    else:
        assert response.status_code != 413 or body.count(b"&") >= client.application.config["MAX_FORM_PARTS"]
        assert read == len(body)
