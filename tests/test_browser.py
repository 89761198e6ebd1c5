"""End-to-end journeys in a real browser (Debian's chromium via Playwright), in English and Arabic."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from app.extensions import db
from app.mail.cli import run_housekeeping
from app.mail.worker import Worker
from tests.browser import AXE, CHROMIUM, CHROMIUM_ARGS, LiveServer, axe_violations, require
from tests.factories import add_update, make_case

pytestmark = [pytest.mark.browser, pytest.mark.postgres_only]
ROOT = Path(__file__).resolve().parent.parent
SCREENSHOTS = ROOT / "instance" / "screenshots"


@pytest.fixture
def app_config(smtp_server):
    return {"MAIL_PORT": smtp_server.port, "WTF_CSRF_ENABLED": True}


@pytest.fixture
def chromium():
    require(CHROMIUM, "Debian's chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def case(app):
    from datetime import date

    case = make_case(
        slug="leila",
        person_name="Leila Haddad",
        country="MA",
        person_language="ar",
        content={
            "en": {
                "headline": "Student and blogger",
                "story": "Leila wrote about water shortages in her town.\n\nShe was arrested for it.",
                "ask": "Release Leila Haddad now.",
                "appeal_subject": "Release Leila Haddad",
                "appeal_template": "Dear Minister,\n\nPlease release Leila Haddad.\n\nYours sincerely,",
            },
            "ar": {
                "headline": "طالبة ومدوّنة",
                "story": "كتبت ليلى عن نقص المياه في مدينتها.\n\nواعتُقلت بسبب ذلك.",
                "ask": "أفرجوا عن ليلى حداد فورًا.",
                "appeal_subject": "أفرجوا عن ليلى حداد",
                "appeal_template": "معالي الوزير،\n\nأرجو الإفراج عن ليلى حداد.\n\nمع فائق الاحترام،",
            },
        },
        targets=[
            {"name": "Ministry of Justice", "title": "Minister of Justice", "addresses": ["m@justice.example.org"]}
        ],
    )
    add_update(case, date(2025, 3, 10), "arrest", {"en": "Arrested at home.", "ar": "اعتُقلت في منزلها."})
    db.session.commit()
    return case


def _confirmation_link(smtp_server, address: str) -> str:
    [message] = [m for m in smtp_server.messages if address in m.rcpt_tos]
    body = message.message.get_content()
    return re.search(r"(http://127\.0\.0\.1:\d+/\S+)", body).group(1)


@pytest.mark.parametrize("locale", ["en", "ar"])
def test_a_visitor_reads_a_case_writes_an_appeal_and_confirms_it(app, case, chromium, smtp_server, locale):
    with LiveServer(app) as server:
        page = chromium.new_page()
        page.goto(f"{server.url}/{locale}/")
        assert page.locator("html").get_attribute("dir") == ("rtl" if locale == "ar" else "ltr")
        page.locator(f"a[href='/{locale}/cases/leila/']").first.click()
        assert page.locator("h1").inner_text() == "Leila Haddad"
        page.locator(f"a[href='/{locale}/cases/leila/appeal/']").click()
        letter = page.locator("textarea[name=letter]").input_value()
        assert ("أرجو الإفراج" if locale == "ar" else "Please release Leila Haddad.") in letter
        page.fill("input[name=name]", "Jane Doe")
        page.fill("input[name=email]", f"jane-{locale}@example.net")
        page.select_option("select[name=country]", "FR")
        page.fill("textarea[name=letter]", letter + "\n\nWith hope from Lyon.")
        page.check("input[name=consent_share]")
        page.locator("form button[type=submit]").click()
        assert "/check-your-email/" in page.url

        Worker(app, lanes=1).run(drain=True)  # the confirmation email reaches the test SMTP server
        page.goto(_confirmation_link(smtp_server, f"jane-{locale}@example.net"))
        page.locator("form button[type=submit]").click()
        assert "/thanks/" in page.url
        page.locator(f"a[href*='/{locale}/appeals/']").last.click()
        assert page.locator("table").count() == 1

        Worker(app, lanes=1).run(drain=True)  # the letter reaches the authority
        page.reload()
        delivered = page.locator("td").nth(1).inner_text()
        assert "2026" in delivered or "202" in delivered  # the time the server accepted it
        [authority] = [m for m in smtp_server.messages if "m@justice.example.org" in m.rcpt_tos]
        assert "With hope from Lyon." in authority.message.get_content()
        assert authority.message["From"].addresses[0].display_name == "Jane Doe via Inkwell"

        # A message of hope, from the case page.
        page.goto(f"{server.url}/{locale}/cases/leila/")
        page.locator(f"a[href='/{locale}/cases/leila/hope/']").click()
        page.fill("input[name=first_name]", "Jane")
        page.select_option("select[name=country]", "FR")
        page.fill("textarea[name=message]", "لستِ وحدك" if locale == "ar" else "You are not alone.")
        page.locator("form button[type=submit]").click()
        assert page.url.endswith(f"/{locale}/cases/leila/hope/sent/")

        # A moderator signs in, approves the message and forwards it in a bundle.
        from app.staff import services as accounts

        accounts.create_user(f"mod-{locale}@inkwell.example.org", "a long enough passphrase", "moderator")
        db.session.commit()
        page.goto(f"{server.url}/admin/login")
        page.fill("input[name=email]", f"mod-{locale}@inkwell.example.org")
        page.fill("input[name=password]", "a long enough passphrase")
        page.locator("main form button[type=submit]").click()
        assert page.url.endswith("/admin/moderation/")
        page.locator("input[name=letter]").first.check()
        page.locator("button[value=approve]").click()
        page.goto(f"{server.url}/admin/moderation/bundles")
        page.locator("main form button[type=submit]").first.click()
        page.locator(".bundle-rendering").first.wait_for()  # created: the mail worker prepares its PDF
        run_housekeeping(app)  # as the worker does between rounds
        page.reload()
        with page.expect_download() as download:
            page.locator("a[href$='.pdf']").first.click()
        assert download.value.suggested_filename.endswith(".pdf")


def test_public_pages_have_no_serious_accessibility_violations(app, case, chromium):
    require(AXE, "axe-core (npm)")
    with LiveServer(app) as server:
        context = chromium.new_context(bypass_csp=True)  # axe is injected as a script the CSP would refuse
        page = context.new_page()
        for locale in ("en", "ar"):
            for path in (
                "/",
                "/cases/",
                "/cases/?status=success",
                "/success-stories/",
                "/cases/leila/",
                "/cases/leila/appeal/",
                "/cases/leila/appeal/check-your-email/",
                "/cases/leila/hope/",
                "/cases/leila/hope/sent/",
                "/cases/leila/paper-letters/",
                "/cases/leila/paper-letters/sent/",
                "/privacy/",
                "/nowhere",
            ):
                page.goto(f"{server.url}/{locale}{path}")
                assert axe_violations(page) == [], f"{locale}{path}"
        context.close()


def test_arabic_case_page_screenshot(app, case, chromium):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with LiveServer(app) as server:
        for width, name in ((1280, "case-ar-desktop.png"), (390, "case-ar-phone.png")):
            page = chromium.new_page(viewport={"width": width, "height": 900})
            page.goto(f"{server.url}/ar/cases/leila/")
            assert page.locator("html").get_attribute("dir") == "rtl"
            # Right to left: the portrait sits at the right edge, the text flows to its left.
            portrait = page.locator(".case-header .portrait").bounding_box()
            heading = page.locator("h1").bounding_box()
            assert portrait["x"] > heading["x"]
            page.screenshot(path=str(SCREENSHOTS / name), full_page=True)
            assert (SCREENSHOTS / name).stat().st_size > 10_000
