"""Forwarding messages of hope: a PDF with every letter (Arabic included), emailed once, never a letter twice.

Creating a bundle claims its letters; the mail worker's housekeeping renders it (`render_bundles` below runs it, as
`flask mail work` does between rounds). See test_bundle_rendering.py for the states and failures.
"""

from __future__ import annotations

import email
import email.policy
import io
import threading

import pytest
import sqlalchemy as sa
from pypdf import PdfReader

from app.extensions import db
from app.mail.cli import run_housekeeping
from app.mail.models import OutboundMessage
from app.models_base import utcnow
from app.moderation import services
from app.moderation.models import Bundle
from app.solidarity.models import SolidarityLetter
from app.staff import services as accounts
from tests.factories import STAFF_PASSWORD, make_case, sign_in


@pytest.fixture
def setup(app):
    moderator = accounts.create_user("mod@inkwell.example.org", STAFF_PASSWORD, "moderator")
    case = make_case(slug="ana", person_name="Ana Example", forwarding_contact_email="family@ana.example.net")
    texts = ["You are not alone, Ana.", "لستِ وحدكِ يا آنا", "Courage, Ana !"]
    rows = [
        SolidarityLetter(
            case_id=case.id,
            first_name=f"W{n}",
            country="FR",
            language="ar" if n == 1 else "en",
            message=text,
            state="approved",
        )
        for n, text in enumerate(texts)
    ]
    rows.append(SolidarityLetter(case_id=case.id, first_name="X", country="FR", language="en", message="Pending one"))
    db.session.add_all(rows)
    db.session.commit()
    return moderator, case, texts


def render_bundles(app) -> None:
    """What the mail worker does between rounds: its housekeeping renders the bundles waiting for their PDF."""
    db.session.commit()
    run_housekeeping(app)
    db.session.expire_all()


def pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def test_bundle_pdf_holds_every_approved_letter_and_is_emailed_once(setup, app):
    moderator, case, texts = setup
    bundle = services.create_bundle(case, moderator)
    db.session.commit()
    render_bundles(app)
    text = pdf_text(bundle.pdf)
    assert "Ana Example" in text  # the cover
    for letter in ("You are not alone, Ana.", "Courage, Ana !"):
        assert letter in text
    assert all(word in text for word in "لستِ وحدكِ يا آنا".split())
    assert "Pending one" not in text
    [message] = db.session.scalars(sa.select(OutboundMessage).where(OutboundMessage.kind == "bundle")).all()
    assert message.recipient == "family@ana.example.net" and bundle.outbound_message_id == message.id
    parsed = email.message_from_bytes(message.raw, policy=email.policy.default)
    [attachment] = list(parsed.iter_attachments())
    assert attachment.get_content_type() == "application/pdf" and attachment.get_content() == bundle.pdf
    with pytest.raises(services.NothingToForward):  # nothing left: every letter is in exactly one bundle
        services.create_bundle(case, moderator)


def test_a_case_without_a_contact_gets_a_pdf_only(setup, app):
    moderator, case, _ = setup
    case.forwarding_contact_email = None
    db.session.commit()
    bundle = services.create_bundle(case, moderator)
    render_bundles(app)
    assert bundle.sent_to is None and bundle.outbound_message_id is None and bundle.pdf.startswith(b"%PDF")


@pytest.mark.postgres_only
def test_two_moderators_at_once_never_forward_a_letter_twice(setup, app):
    moderator, case, _ = setup
    case_id, moderator_id = case.id, moderator.id  # read here: the threads must not touch this session
    case_type, user_type = type(case), type(moderator)
    barrier = threading.Barrier(2)
    outcomes = []

    def press_the_button():
        with app.app_context():
            barrier.wait()
            try:
                services.create_bundle(db.session.get(case_type, case_id), db.session.get(user_type, moderator_id))
                db.session.commit()
                outcomes.append("bundle")
            except services.NothingToForward:
                db.session.rollback()
                outcomes.append("nothing")
            finally:
                db.session.remove()

    threads = [threading.Thread(target=press_the_button) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(outcomes) == ["bundle", "nothing"]
    render_bundles(app)
    bundles = db.session.scalars(sa.select(Bundle)).all()
    assert [b.letter_count for b in bundles] == [3]
    assert db.session.scalar(sa.select(sa.func.count()).where(OutboundMessage.kind == "bundle")) == 1


def test_staff_pages_create_list_and_download_bundles(client, setup):
    _, case, _ = setup
    assert client.get("/admin/moderation/bundles").status_code == 302  # signed in only
    sign_in(client)
    response = client.post(f"/admin/moderation/cases/{case.id}/bundle")
    assert response.status_code == 302
    render_bundles(client.application)
    page = client.get("/admin/moderation/bundles").get_data(as_text=True)
    assert "family@ana.example.net (pending)" in page and "mod@inkwell.example.org" in page
    bundle = db.session.scalar(sa.select(Bundle))
    download = client.get(f"/admin/moderation/bundles/{bundle.id}.pdf")
    assert download.headers["Content-Type"] == "application/pdf" and download.data.startswith(b"%PDF")
    again = client.post(f"/admin/moderation/cases/{case.id}/bundle")
    assert again.status_code == 302
    assert "No approved message" in client.get("/admin/moderation/bundles").get_data(as_text=True)


def pdf_fonts(data: bytes) -> set[str]:
    names = set()
    for page in PdfReader(io.BytesIO(data)).pages:
        for font in (page["/Resources"].get("/Font") or {}).values():
            names.add(str(font.get_object()["/BaseFont"]))
    return names


def test_letters_in_other_scripts_come_out_of_the_pdf_in_noto_fonts(app):
    moderator = accounts.create_user("mod@inkwell.example.org", STAFF_PASSWORD, "moderator")
    case = make_case(slug="ana", person_name="Ана Пример")
    texts = {
        "ru": "Мы с тобой, держись!",
        "zh": "你并不孤单",
        "hi": "हम आपके साथ हैं",
        "he": "אתה לא לבד",
        "fa": "تو تنها نیستی",
        "el": "Δεν είσαι μόνος",
    }
    for language, text in texts.items():
        db.session.add(
            SolidarityLetter(
                case_id=case.id, first_name="W", country="FR", language=language, message=text, state="approved"
            )
        )
    db.session.flush()
    bundle = services.create_bundle(case, moderator)
    render_bundles(app)
    extracted = pdf_text(bundle.pdf)
    assert "Ана Пример" in extracted
    # Text extraction may put a space before a combining vowel sign (Devanagari "आपक े"): compare without spaces.
    compact = "".join(extracted.split())
    for language, text in texts.items():
        for word in text.split():
            assert word.strip("!") in compact, (language, word)
    fonts = pdf_fonts(bundle.pdf)
    assert all("Noto" in name for name in fonts), fonts  # never a fallback font with missing glyphs
    assert any("CJK" in name for name in fonts) and any("Arabic" in name for name in fonts), fonts


def test_the_bundle_email_speaks_the_moderators_language_and_attaches_the_pdf(setup, app):
    moderator, case, _ = setup
    bundle = services.create_bundle(case, moderator, locale="fr")
    render_bundles(app)
    message = db.session.get(OutboundMessage, bundle.outbound_message_id)
    parsed = email.message_from_bytes(message.raw, policy=email.policy.default)
    assert parsed["Subject"] == "3 messages d’espoir pour Ana Example"
    assert message.recipient == "family@ana.example.net"
    [attachment] = list(parsed.iter_attachments())
    assert attachment.get_filename().endswith(".pdf")
    assert "Ana Example" in parsed.get_body(("plain",)).get_content()


def test_each_bundle_takes_only_the_letters_approved_since_the_last(setup, app):
    moderator, case, _ = setup
    first = services.create_bundle(case, moderator)
    pending = db.session.scalar(sa.select(SolidarityLetter).where(SolidarityLetter.state == "pending"))
    services.moderate([pending.id], "approve", moderator)
    rejected = SolidarityLetter(
        case_id=case.id, first_name="Y", country="FR", language="en", message="Rejected one", state="rejected"
    )
    db.session.add(rejected)
    db.session.flush()
    second = services.create_bundle(case, moderator)
    assert (first.letter_count, second.letter_count) == (3, 1)
    render_bundles(app)
    text = pdf_text(second.pdf)
    assert "Pending one" in text and "You are not alone, Ana." not in text and "Rejected one" not in text
    db.session.expire_all()
    assert db.session.get(SolidarityLetter, rejected.id).bundle_id is None


def test_the_history_shows_what_went_where_and_when(client, setup, app):
    moderator, case, _ = setup
    bundle = services.create_bundle(case, moderator)
    render_bundles(app)
    message = db.session.get(OutboundMessage, bundle.outbound_message_id)
    message.state, message.sent_at = "sent", utcnow()
    db.session.commit()
    sign_in(client)
    page = client.get("/admin/moderation/bundles").get_data(as_text=True)
    assert "Ana Example" in page and "family@ana.example.net (sent, " in page
    assert "mod@inkwell.example.org" in page and f"/admin/moderation/bundles/{bundle.id}.pdf" in page


@pytest.fixture
def app_config(request):
    return getattr(request, "param", {})


@pytest.mark.parametrize("app_config", [{"BUNDLE_MAX_LETTERS": 2}], indirect=True)
def test_a_bundle_takes_at_most_its_size_oldest_first(setup, app):
    moderator, case, _ = setup
    first = services.create_bundle(case, moderator)
    second = services.create_bundle(case, moderator)
    assert (first.letter_count, second.letter_count) == (2, 1)
    render_bundles(app)
    assert "You are not alone, Ana." in pdf_text(first.pdf) and "Courage, Ana !" in pdf_text(second.pdf)
    with pytest.raises(services.NothingToForward):
        services.create_bundle(case, moderator)


@pytest.mark.postgres_only
@pytest.mark.parametrize("app_config", [{"BUNDLE_MAX_LETTERS": 2}], indirect=True)
def test_two_moderators_at_once_with_small_bundles_split_the_letters_without_overlap(setup, app):
    moderator, case, _ = setup
    case_id, moderator_id = case.id, moderator.id
    case_type, user_type = type(case), type(moderator)
    barrier = threading.Barrier(2)
    errors = []

    def press_the_button():
        with app.app_context():
            try:
                barrier.wait()
                services.create_bundle(db.session.get(case_type, case_id), db.session.get(user_type, moderator_id))
                db.session.commit()
            except Exception as error:  # noqa: BLE001 - reported below
                errors.append(error)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=press_the_button) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    render_bundles(app)
    assert sorted(b.letter_count for b in db.session.scalars(sa.select(Bundle))) == [1, 2]
    bundled = db.session.scalars(sa.select(SolidarityLetter).where(SolidarityLetter.state == "approved")).all()
    assert all(letter.bundle_id for letter in bundled) and len(bundled) == 3
    assert db.session.scalar(sa.select(sa.func.count()).where(OutboundMessage.kind == "bundle")) == 2
