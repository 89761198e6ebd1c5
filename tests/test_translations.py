"""Translations are code: complete, consistent with their source, no HTML added, really shown on the pages."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
LOCALES = ("fr", "es", "ar")
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]|\{(\w+)\}|%[sd]")
TAG = re.compile(r"<[^>]+>")


def catalogue(locale: str):
    with open(ROOT / "translations" / locale / "LC_MESSAGES" / "messages.po", "rb") as f:
        return read_po(f, locale=locale)


def entries(locale: str):
    return [m for m in catalogue(locale) if m.id]


def forms(message) -> list[str]:
    return list(message.string) if isinstance(message.string, tuple) else [message.string]


def sources(message) -> list[str]:
    return list(message.id) if isinstance(message.id, tuple) else [message.id]


@pytest.mark.parametrize("locale", LOCALES)
def test_catalogue_is_complete_and_not_fuzzy(locale):
    missing = [sources(m)[0] for m in entries(locale) if not all(forms(m))]
    fuzzy = [sources(m)[0] for m in entries(locale) if m.fuzzy]
    assert missing == [], f"{len(missing)} untranslated in {locale}, e.g. {missing[:3]}"
    assert fuzzy == [], f"fuzzy in {locale}: {fuzzy[:3]}"


@pytest.mark.parametrize("locale", LOCALES)
def test_placeholders_match_the_source(locale):
    for message in entries(locale):
        expected = sorted(PLACEHOLDER.findall(sources(message)[-1]))
        for text in forms(message):
            if not text:
                continue
            found = sorted(PLACEHOLDER.findall(text))
            # A singular form may leave the number out ("une action"), never invent or rename a placeholder.
            assert set(found) <= set(expected), (locale, message.id, text)
            if not isinstance(message.id, tuple):
                assert found == expected, (locale, message.id, text)


@pytest.mark.parametrize("locale", LOCALES)
def test_translations_add_no_html(locale):
    for message in entries(locale):
        allowed = {tag for source in sources(message) for tag in TAG.findall(source)}
        for text in forms(message):
            assert set(TAG.findall(text)) <= allowed, (locale, message.id, text)


def test_arabic_has_six_plural_forms():
    assert catalogue("ar").num_plurals == 6
    for message in entries("ar"):
        if isinstance(message.id, tuple):
            assert len(message.string) == 6 and all(message.string), message.id


def test_template_is_up_to_date(tmp_path):
    """messages.pot holds exactly the strings the code marks (run `make messages` after changing strings)."""
    fresh = tmp_path / "messages.pot"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "babel.messages.frontend",
            "extract",
            "-F",
            "babel.cfg",
            "-k",
            "_l",
            "-k",
            "lazy_gettext",
            "--no-location",
            "-o",
            str(fresh),
            ".",
        ],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    with open(fresh, "rb") as f:
        extracted = {m.id for m in read_po(f) if m.id}
    with open(ROOT / "translations" / "messages.pot", "rb") as f:
        committed = {m.id for m in read_po(f) if m.id}
    assert extracted - committed == set(), "strings missing from messages.pot: run `make messages`"
    assert committed - extracted == set(), "stale strings in messages.pot: run `make messages`"
    for locale in LOCALES:
        assert {m.id for m in entries(locale)} == committed, f"{locale} catalogue is not updated: `make messages`"


# --- rendered pages ------------------------------------------------------------------------------------------------

PAGES = (
    "/{lang}/",
    "/{lang}/cases/",
    "/{lang}/cases/?country=ZZ",
    "/{lang}/success-stories/",
    "/{lang}/cases/ana/",
    "/{lang}/cases/freed/",
    "/{lang}/cases/ana/appeal/",
    "/{lang}/cases/ana/appeal/check-your-email/",
    "/{lang}/cases/ana/hope/",
    "/{lang}/cases/ana/hope/sent/",
    "/{lang}/cases/ana/paper-letters/",
    "/{lang}/cases/ana/paper-letters/sent/",
    "/{lang}/privacy/",
    "/{lang}/no-such-page",
)


def _visible_text(html: str) -> str:
    import html as html_lib

    html = re.sub(r"(?s)<(script|style)\b.*?</\1>", " ", html)
    html = re.sub(r'(?s)<option value="[A-Z]{2}"[^>]*>.*?</option>', " ", html)  # country names come from CLDR
    text = html_lib.unescape(TAG.sub(" ", html))
    return " ".join(text.split())


@pytest.fixture
def pages_case(app):
    from app.extensions import db
    from tests.factories import make_case

    make_case(slug="ana")
    make_case(slug="freed", status="success")
    db.session.commit()


@pytest.mark.parametrize("locale", LOCALES)
def test_translated_pages_show_no_english_source_string(client, pages_case, locale):
    english = {
        source
        for m in entries(locale)
        for source in sources(m)
        if len(source) >= 12 and not PLACEHOLDER.search(source) and source not in forms(m)
    }
    for path in PAGES:
        response = client.get(path.format(lang=locale))
        shown = _visible_text(response.get_data(as_text=True))
        leftovers = sorted(s for s in english if s in shown)
        assert leftovers == [], f"{path.format(lang=locale)} still shows English: {leftovers[:5]}"


@pytest.mark.parametrize("locale", LOCALES)
def test_confirmation_email_is_in_the_supporters_language(client, pages_case, locale):
    from app.mail.models import OutboundMessage
    from tests.test_appeals import form_data, outbox

    client.post(f"/{locale}/cases/ana/appeal/", data=form_data(letter_language=locale))
    [message] = outbox()
    assert isinstance(message, OutboundMessage)
    translated = dict((m.id, forms(m)[0]) for m in entries(locale))
    subject_source = "Confirm your appeal for %(name)s"
    expected = translated[subject_source] % {"name": "Ana Example"}
    assert message.subject == expected and expected != subject_source % {"name": "Ana Example"}


@pytest.mark.parametrize("locale", ("en", *LOCALES))
def test_each_language_works_end_to_end_for_an_appeal(client, pages_case, locale):
    """Read a case, write an appeal, confirm it, follow it, send a message of hope: all in the visitor's language."""
    from tests.test_appeals import confirm_link, form_data, outbox

    english = set()
    if locale != "en":
        english = {
            s
            for m in entries(locale)
            for s in sources(m)
            if len(s) >= 12 and not PLACEHOLDER.search(s) and s not in forms(m)
        }
    case_page = client.get(f"/{locale}/cases/ana/")
    form_page = client.get(f"/{locale}/cases/ana/appeal/")
    sent = client.post(f"/{locale}/cases/ana/appeal/", data=form_data(letter_language=locale))
    check = client.get(sent.headers["Location"])
    link = confirm_link(outbox("confirmation")[0])
    assert f"/{locale}/appeals/confirm/" in link
    confirm_page = client.get(link)
    thanks = client.get(client.post(link).headers["Location"])
    status = client.get(thanks.request.path.replace("/thanks/", "/"))
    hope_form = client.get(f"/{locale}/cases/ana/hope/")
    hope_sent = client.post(
        f"/{locale}/cases/ana/hope/",
        data={"first_name": "Jo", "country": "FR", "language": locale, "message": "Courage"},
    )
    hope_thanks = client.get(hope_sent.headers["Location"])
    for response in (case_page, form_page, check, confirm_page, thanks, status, hope_form, hope_thanks):
        assert response.status_code == 200
        html = response.get_data(as_text=True)
        assert f'<html lang="{locale}"' in html
        shown = _visible_text(html)
        assert sorted(s for s in english if s in shown) == [], response.request.path
