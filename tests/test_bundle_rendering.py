"""Bundles are rendered by the mail worker, never in the request; a message's print is bounded; a bundle that cannot
be built is marked failed, keeps its letters, can be tried again, and never holds up the next one."""

from __future__ import annotations

import email
import email.policy
import io
from datetime import timedelta

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pypdf import PdfReader

from app import text
from app.extensions import db
from app.mail.cli import run_housekeeping
from app.mail.models import OutboundMessage
from app.models_base import utcnow
from app.moderation import services
from app.moderation.layout import printed_message
from app.moderation.models import Bundle
from app.solidarity.models import SolidarityLetter
from tests.factories import make_case, make_hope, sign_in

MAX_CHARS = 1500  # HOPE_MAX_CHARS: the longest message the form accepts


def approved(case, *messages: str, language: str = "en") -> list[SolidarityLetter]:
    return [make_hope(case, message, state="approved", language=language) for message in messages]


def bundle_messages() -> list[OutboundMessage]:
    return list(db.session.scalars(sa.select(OutboundMessage).where(OutboundMessage.kind == "bundle")))


def housekeeping(app) -> None:
    """What `flask mail work` does between rounds (and `flask mail housekeeping` once)."""
    db.session.commit()
    run_housekeeping(app)
    db.session.expire_all()


def pages(pdf: bytes) -> int:
    return len(PdfReader(io.BytesIO(pdf)).pages)


def pdf_text(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def pdf_words(pdf: bytes) -> str:
    """The PDF's text without any space (extraction may put one before a full stop, or take out a line break)."""
    return "".join(pdf_text(pdf).split()).replace("\u200b", "")


def test_creating_a_bundle_answers_at_once_and_the_worker_renders_and_emails_it_once(app, client, staff):
    case = make_case(slug="ana", forwarding_contact_email="family@ana.example.net")
    letters = approved(case, "You are not alone, Ana.", "Courage, Ana!", "We think of you every day.")
    db.session.commit()
    sign_in(client)

    response = client.post(f"/admin/moderation/cases/{case.id}/bundle")
    assert response.status_code == 302
    bundle = db.session.scalar(sa.select(Bundle))
    assert bundle.state == "rendering" and bundle.pdf is None and bundle.letter_count == 3
    assert bundle_messages() == []  # nothing is emailed before the PDF exists
    assert {db.session.get(SolidarityLetter, letter.id).bundle_id for letter in letters} == {bundle.id}  # claimed
    page = client.get("/admin/moderation/bundles").get_data(as_text=True)
    assert "being prepared" in page and f"/admin/moderation/bundles/{bundle.id}.pdf" not in page
    waiting = client.get(f"/admin/moderation/bundles/{bundle.id}.pdf")
    assert waiting.status_code == 202 and waiting.mimetype == "text/html"
    assert "still being prepared" in waiting.get_data(as_text=True)

    housekeeping(app)
    bundle = db.session.get(Bundle, bundle.id)
    assert bundle.state == "ready" and bundle.pdf.startswith(b"%PDF") and bundle.rendered_at is not None
    [message] = bundle_messages()
    assert message.recipient == "family@ana.example.net" and bundle.outbound_message_id == message.id
    [attachment] = email.message_from_bytes(message.raw, policy=email.policy.default).iter_attachments()
    assert attachment.get_content() == bundle.pdf
    housekeeping(app)  # the next round finds nothing to do: the email is queued once
    assert len(bundle_messages()) == 1
    download = client.get(f"/admin/moderation/bundles/{bundle.id}.pdf")
    assert download.status_code == 200 and download.data == bundle.pdf
    assert f"/admin/moderation/bundles/{bundle.id}.pdf" in client.get("/admin/moderation/bundles").get_data(True)


def test_a_bundle_that_cannot_be_built_is_failed_keeps_its_letters_and_blocks_nothing(app, client, staff):
    """Made to fail for real: the case's contact address (entered before addresses were checked) is one the outbox
    cannot compose an email to, found when the email is queued in the same transaction as the PDF."""
    ana = make_case(slug="ana", person_name="Ana Example", forwarding_contact_email="family at ana")
    ben = make_case(slug="ben", person_name="Ben Example", forwarding_contact_email="family@ben.example.net")
    ana_letters = approved(ana, "For Ana, one.", "For Ana, two.", "For Ana, three.")
    approved(ben, "For Ben.")
    moderator, _ = staff
    first = services.create_bundle(ana, moderator)
    second = services.create_bundle(ben, moderator)
    housekeeping(app)

    first, second = db.session.get(Bundle, first.id), db.session.get(Bundle, second.id)
    assert first.state == "failed" and first.failure == "contact_refused" and "family at ana" in first.failure_detail
    assert first.pdf is None and first.outbound_message_id is None
    assert second.state == "ready" and [m.recipient for m in bundle_messages()] == ["family@ben.example.net"]
    # The failed bundle's letters stay in it: not lost, not bundled again.
    assert {db.session.get(SolidarityLetter, letter.id).bundle_id for letter in ana_letters} == {first.id}
    assert services.waiting_to_forward() == {}
    sign_in(client)
    page = client.get("/admin/moderation/bundles").get_data(as_text=True)
    assert "The case’s contact address cannot receive email" in page and "Try again" in page
    answer = client.get(f"/admin/moderation/bundles/{first.id}.pdf")
    assert answer.status_code == 409 and "could not be built" in answer.get_data(as_text=True)

    # The next bundle for the same case renders although the older one failed (it is not retried by itself).
    ana.forwarding_contact_email = "family@ana.example.net"
    approved(ana, "For Ana, four.")
    third = services.create_bundle(ana, moderator)
    housekeeping(app)
    third, first = db.session.get(Bundle, third.id), db.session.get(Bundle, first.id)
    assert third.state == "ready" and third.letter_count == 1 and "ForAna,four." in pdf_words(third.pdf)
    assert first.state == "failed"

    # Staff try the failed one again, once the cause is fixed: same letters, emailed once.
    assert client.post(f"/admin/moderation/bundles/{first.id}/retry").status_code == 302
    db.session.commit()  # see what the request committed
    assert db.session.get(Bundle, first.id).state == "rendering"
    housekeeping(app)
    first = db.session.get(Bundle, first.id)
    assert first.state == "ready" and first.failure is None and first.letter_count == 3
    assert all(f"ForAna,{n}." in pdf_words(first.pdf) for n in ("one", "two", "three"))
    assert sorted(m.recipient for m in bundle_messages()) == [
        "family@ana.example.net",
        "family@ana.example.net",
        "family@ben.example.net",
    ]
    again = client.post(f"/admin/moderation/bundles/{first.id}/retry", follow_redirects=True)
    assert "has not failed" in again.get_data(as_text=True) and len(bundle_messages()) == 3


def test_a_render_that_raises_is_recorded_and_the_next_bundle_of_the_case_renders(app, staff, monkeypatch):
    """WeasyPrint renders whatever a letter can hold (NUL, noncharacters, controls, 3,000 combining marks were
    tried), so the failure is injected at the narrowest seam: the HTML-to-PDF step, for one bundle's HTML."""
    real_html_to_pdf = services.html_to_pdf

    def html_to_pdf(html: str) -> bytes:
        if "Poisoned letter" in html:
            raise RuntimeError("Pango gave up")
        return real_html_to_pdf(html)

    monkeypatch.setattr(services, "html_to_pdf", html_to_pdf)
    case = make_case(slug="ana", forwarding_contact_email="family@ana.example.net")
    approved(case, "Poisoned letter")
    moderator, _ = staff
    first = services.create_bundle(case, moderator)
    approved(case, "A later letter")
    second = services.create_bundle(case, moderator)
    assert services.render_due_bundles() == 2
    first, second = db.session.get(Bundle, first.id), db.session.get(Bundle, second.id)
    assert (first.state, first.failure, first.failure_detail) == (
        "failed",
        "render_error",
        "RuntimeError: Pango gave up",
    )
    assert second.state == "ready" and "Alaterletter" in pdf_words(second.pdf)
    assert [m.id for m in bundle_messages()] == [second.outbound_message_id]


def test_a_render_that_stopped_its_worker_is_tried_again_after_its_lease_then_set_aside(app, staff):
    """A worker killed while rendering (out of memory, SIGKILL) leaves its bundle leased with the attempt counted:
    the bundle is tried again once the lease lapses, and after BUNDLE_RENDER_MAX_ATTEMPTS it is failed."""
    case = make_case(slug="ana", forwarding_contact_email=None)
    moderator, _ = staff
    approved(case, "First")
    stuck = services.create_bundle(case, moderator)
    approved(case, "Second")
    following = services.create_bundle(case, moderator)
    now = utcnow()
    stuck.render_attempts, stuck.render_lease_until = 1, now + timedelta(minutes=10)  # as the killed worker left it
    db.session.commit()

    assert services.render_due_bundles(now=now) == 1  # leased: another worker may still be on it; the next renders
    assert db.session.get(Bundle, following.id).state == "ready"
    assert db.session.get(Bundle, stuck.id).state == "rendering"

    later = now + timedelta(minutes=11)
    stuck = db.session.get(Bundle, stuck.id)
    stuck.render_attempts = app.config["BUNDLE_RENDER_MAX_ATTEMPTS"]  # it killed its worker every time
    db.session.commit()
    assert services.render_due_bundles(now=later) == 0
    stuck = db.session.get(Bundle, stuck.id)
    assert (stuck.state, stuck.failure, stuck.pdf) == ("failed", "worker_stopped", None)
    services.retry_bundle(stuck.id)  # staff try again: a fresh count of attempts
    db.session.commit()
    assert services.render_due_bundles(now=later) == 1
    stuck = db.session.get(Bundle, stuck.id)
    assert stuck.state == "ready" and "First" in pdf_words(stuck.pdf)


MAXIMAL = {
    "newlines": "Courage" + "\n" * (MAX_CHARS - 15) + "Courage",
    "short lines": "a\n" * (MAX_CHARS // 2),
    "blank runs": ("Line of hope\n \n\u200b\n\n" * MAX_CHARS)[:MAX_CHARS],
    "unbroken": "x" * MAX_CHARS,
    "unbroken cjk": "你并不孤单" * (MAX_CHARS // 5),
}


def test_maximal_messages_print_on_at_most_a_page_each_and_say_when_shortened(app, staff):
    """Before: the message of newlines alone printed 36 pages."""
    case = make_case(slug="ana", forwarding_contact_email=None)
    moderator, _ = staff
    for name, message in MAXIMAL.items():
        approved(case, message, message, language="zh" if "cjk" in name else "en")
    bundle = services.create_bundle(case, moderator)
    housekeeping(app)
    bundle = db.session.get(Bundle, bundle.id)
    assert bundle.state == "ready"
    assert pages(bundle.pdf) <= 1 + 2 * len(MAXIMAL)  # the cover, then at most a page per message
    printed = pdf_text(bundle.pdf)
    # Collapsing blank lines loses nothing; cutting is said: the short lines, the blank runs (whose lines are not
    # blank) and the CJK text, which is longer than a page, are shortened.
    assert printed.count("Courage") == 4
    assert printed.count("(shortened for printing)") == 6
    assert "x" * 30 in pdf_words(bundle.pdf)


def test_moderators_see_which_messages_the_bundle_will_shorten(client, staff):
    case = make_case(slug="ana")
    long_one = make_hope(case, MAXIMAL["short lines"])
    short_one = make_hope(case, MAXIMAL["newlines"])
    db.session.commit()
    sign_in(client)
    note = "longer than a printed page"
    assert client.get("/admin/moderation/").get_data(as_text=True).count(note) == 1
    assert note in client.get(f"/admin/moderation/letters/{long_one.id}").get_data(as_text=True)
    assert note not in client.get(f"/admin/moderation/letters/{short_one.id}").get_data(as_text=True)


LINES = st.lists(
    st.one_of(
        st.just(""),
        st.sampled_from([" ", "\t", "\u200b", "\u00a0 ", "\ufeff"]),
        st.text(alphabet=st.sampled_from("ab ‎你é\u0301ي"), max_size=300),
    ),
    max_size=200,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lines=LINES, max_lines=st.integers(min_value=1, max_value=60))
def test_printed_messages_collapse_blank_runs_and_never_drop_text_silently(lines, max_lines):
    message = "\n".join(lines)[:MAX_CHARS]
    printed = printed_message(message, max_lines)
    shown = printed.text.replace("\u200b", "").split("\n")
    assert len(shown) <= max_lines
    assert all(a or b for a, b in zip(shown, shown[1:], strict=False))  # never two empty lines in a row
    written = [line.replace("\u200b", "").rstrip() for line in message.splitlines() if not text.is_blank(line)]
    kept = [line.rstrip() for line in shown if line]
    if printed.shortened:
        assert kept[:-1] == written[: len(kept) - 1]  # a beginning of the message (its last line may be cut)
        assert not kept or written[len(kept) - 1].startswith(kept[-1])
    else:
        assert kept == written  # everything that was written is printed


@pytest.mark.parametrize("message", ["", "\n\n\n", " \u200b \n\t"])
def test_a_message_with_nothing_visible_prints_as_nothing(message):
    printed = printed_message(message, 36)
    assert printed.text == "" and not printed.shortened
