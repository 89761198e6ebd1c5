"""Moderating messages of hope: the queue (paginated by key), decisions with their audit trail."""

from __future__ import annotations

import time
from collections import Counter
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import func, or_, select, tuple_, update
from sqlalchemy.orm import joinedload

from app import text
from app.cases.services import record_action
from app.extensions import db
from app.mail import outbox
from app.mail.compose import Attachment, render_email
from app.models_base import utcnow
from app.moderation.models import Bundle, BundleFailure, BundleState, ModerationEvent
from app.moderation.pdf import bundle_html, html_to_pdf
from app.solidarity.models import SolidarityLetter
from app.staff.models import User

ACTIONS = ("approve", "reject")
REASON_MAX_CHARS = 500


class ModerationError(ValueError):
    """A decision that cannot be made. The argument is a code the view puts into words (see routes.ERRORS)."""

    @property
    def code(self) -> str:
        return self.args[0] if self.args else "invalid"


def pending_queue(
    *,
    case_id: int | None = None,
    language: str | None = None,
    flag: str | None = None,
    after: tuple[datetime, int] | None = None,
    limit: int = 50,
) -> list[SolidarityLetter]:
    """Pending letters, oldest first, from the key `after` on: as fast at the millionth as at the first."""
    query = select(SolidarityLetter).where(SolidarityLetter.state == "pending")
    if case_id:
        query = query.where(SolidarityLetter.case_id == case_id)
    if language:
        query = query.where(SolidarityLetter.language == language)
    if flag:
        query = query.where(SolidarityLetter.flags.contains(flag))
    if after:
        query = query.where(tuple_(SolidarityLetter.created_at, SolidarityLetter.id) > tuple_(*after))
    query = query.order_by(SolidarityLetter.created_at, SolidarityLetter.id).limit(limit)
    return list(db.session.scalars(query.options(joinedload(SolidarityLetter.case))))


def moderate(
    letter_ids: list[int], action: str, actor: User, reason: str = "", redacted_text: str | None = None
) -> int:
    """Approve or reject pending letters (optionally approving one with a redacted text); every decision audited.

    Letters already decided (by another moderator a moment before) are skipped: the rows are locked and re-read,
    so each letter gets exactly one decision. Returns how many letters this call decided.
    """
    reason = (reason or "").strip()[:REASON_MAX_CHARS]
    if action not in ACTIONS:
        raise ModerationError("unknown_action")
    if not letter_ids:
        raise ModerationError("no_selection")
    if action == "reject" and not reason:
        raise ModerationError("reason_required")
    if redacted_text is not None:
        if action != "approve" or len(letter_ids) != 1:
            raise ModerationError("redaction_single_approval")
        redacted_text = text.normalise_text(redacted_text)  # browsers send textarea lines with CRLF
        if text.is_blank(redacted_text):
            raise ModerationError("redaction_blank")
        if text.has_undecodable_bytes(redacted_text) or text.has_control_chars(redacted_text, True):
            raise ModerationError("redaction_invalid")
    letters = list(
        db.session.scalars(
            select(SolidarityLetter)
            .where(SolidarityLetter.id.in_(letter_ids), SolidarityLetter.state == "pending")
            .order_by(SolidarityLetter.id)  # the same lock order in every transaction: no deadlock
            .with_for_update()
        )
    )
    now = utcnow()
    for letter in letters:
        if redacted_text is not None and redacted_text != letter.message:
            db.session.add(
                ModerationEvent(
                    letter_id=letter.id,
                    actor_id=actor.id,
                    action="redact",
                    reason=reason,
                    original_text=letter.message,
                    created_at=now,
                )
            )
            letter.message = redacted_text
        letter.state = "approved" if action == "approve" else "rejected"
        letter.decided_at = now
        db.session.add(
            ModerationEvent(letter_id=letter.id, actor_id=actor.id, action=action, reason=reason, created_at=now)
        )
    if action == "approve":
        # The public counter counts messages of hope once approved: never a bot's, never a rejected one.
        for case_id, approved in Counter(letter.case_id for letter in letters).items():
            record_action(case_id, "solidarity", approved)
    db.session.flush()
    return len(letters)


def audit_log(limit: int = 100, before_id: int | None = None) -> list[ModerationEvent]:
    query = select(ModerationEvent).options(joinedload(ModerationEvent.actor))
    if before_id:
        query = query.where(ModerationEvent.id < before_id)
    return list(db.session.scalars(query.order_by(ModerationEvent.id.desc()).limit(limit)))


def letter_history(letter_id: int) -> list[ModerationEvent]:
    return list(
        db.session.scalars(
            select(ModerationEvent).where(ModerationEvent.letter_id == letter_id).order_by(ModerationEvent.id)
        )
    )


class NothingToForward(ModerationError):
    pass


class ContactRefused(Exception):
    """The case's contact address cannot receive email (the outbox cannot compose a message to it): the bundle fails,
    so that staff fix the address and try again, rather than a ready bundle whose email can never leave."""


def create_bundle(case, actor: User, locale: str = "en") -> Bundle:
    """Forward every approved letter of `case` not yet forwarded, exactly once, even with two moderators at once.

    The letters are claimed by a single conditional UPDATE (`bundle_id IS NULL`): whichever transaction commits
    first takes them; the other finds none and fails with NothingToForward. A bundle holds at most
    BUNDLE_MAX_LETTERS letters (a PDF a family can print, an email a mail server accepts); the rest wait for the next.
    The bundle starts `rendering`: the mail worker's housekeeping builds its PDF and queues its email
    (render_due_bundles), so that the request never waits for WeasyPrint.
    """
    bundle = Bundle(
        case_id=case.id, created_by_id=actor.id, created_at=utcnow(), state=BundleState.RENDERING, locale=locale
    )
    db.session.add(bundle)
    db.session.flush()
    # The oldest letters waiting, at most a bundle's worth, locked as they are read (PostgreSQL; on SQLite the bundle's
    # INSERT above already holds the database's write lock). A second moderator's claim waits for these locks,
    # re-reads the rows as forwarded and takes the next ones. Two statements on purpose: a LIMIT ... FOR UPDATE
    # subquery inside the UPDATE may be re-run by PostgreSQL after its own changes and take more than its limit.
    letter_ids = list(
        db.session.scalars(
            select(SolidarityLetter.id)
            .where(
                SolidarityLetter.case_id == case.id,
                SolidarityLetter.state == "approved",
                SolidarityLetter.bundle_id.is_(None),
            )
            .order_by(SolidarityLetter.id)
            .limit(current_app.config["BUNDLE_MAX_LETTERS"])
            .with_for_update()
        )
    )
    claimed = (
        db.session.execute(
            update(SolidarityLetter)
            .where(SolidarityLetter.id.in_(letter_ids), SolidarityLetter.bundle_id.is_(None))
            .values(bundle_id=bundle.id)
            .execution_options(synchronize_session=False)
        ).rowcount
        if letter_ids
        else 0
    )
    if not claimed:
        raise NothingToForward("nothing_to_forward")
    bundle.letter_count = claimed
    db.session.flush()
    return bundle


def retry_bundle(bundle_id: int) -> Bundle:
    """Render a failed bundle again (after its cause is fixed, e.g. the contact's address), with the same letters.

    A failed bundle keeps its letters, so none is lost or forwarded twice; raises ModerationError("not_failed") for
    a bundle that is rendering or ready.
    """
    bundle = db.session.get(Bundle, bundle_id, with_for_update=True)
    if bundle is None or bundle.state != BundleState.FAILED:
        raise ModerationError("not_failed")
    bundle.state = BundleState.RENDERING
    bundle.render_attempts = 0
    bundle.render_lease_until = None
    bundle.failure, bundle.failure_detail = None, ""
    db.session.flush()
    return bundle


# --- rendering, in the mail worker's housekeeping -------------------------------------------------------------------


def render_due_bundles(now: datetime | None = None, max_seconds: float | None = None) -> int:
    """Housekeeping: render the bundles waiting for their PDF, oldest first, one at a time, each committed.

    A bundle that fails is marked failed (with the reason) and the next one is rendered: nothing waits behind it.
    No render starts after `max_seconds` (BUNDLE_RENDER_SECONDS_PER_ROUND), so that mail keeps flowing; the rest
    wait for the next round. Returns how many bundles were dealt with (ready or failed).
    """
    budget = current_app.config["BUNDLE_RENDER_SECONDS_PER_ROUND"] if max_seconds is None else max_seconds
    deadline = time.monotonic() + budget
    done = 0
    while render_next_bundle(now) is not None:
        done += 1
        if time.monotonic() >= deadline:
            break
    return done


def render_next_bundle(now: datetime | None = None) -> Bundle | None:
    """Render the oldest bundle due (see render_due_bundles) and commit; None when none is due."""
    claim = _claim_next_bundle(now or utcnow())
    if claim is None:
        return None
    bundle_id, attempt = claim
    try:
        bundle = db.session.get(Bundle, bundle_id)
        html = bundle_html(bundle.case, _bundle_letters(bundle_id), bundle.locale)
        db.session.commit()  # no transaction stays open during the long part
        pdf = html_to_pdf(html)
        _store_bundle(bundle_id, attempt, pdf)
        db.session.commit()
    except ContactRefused as error:
        _fail_after_rollback(bundle_id, attempt, BundleFailure.CONTACT_REFUSED, str(error))
    except Exception as error:  # noqa: BLE001 - whatever one bundle raises is recorded on it; the next one renders
        current_app.logger.exception("bundle %s could not be rendered", bundle_id)
        _fail_after_rollback(bundle_id, attempt, BundleFailure.RENDER_ERROR, f"{type(error).__name__}: {error}")
    return db.session.get(Bundle, bundle_id)


def _claim_next_bundle(now: datetime) -> tuple[int, int] | None:
    """Lease the oldest bundle due and count the attempt (committed before rendering, so that a render that kills
    its worker is counted); bundles whose renders stopped their worker too often are set aside as failed."""
    max_attempts = current_app.config["BUNDLE_RENDER_MAX_ATTEMPTS"]
    while True:
        bundle = db.session.scalars(
            select(Bundle)
            .where(
                Bundle.state == BundleState.RENDERING,
                or_(Bundle.render_lease_until.is_(None), Bundle.render_lease_until <= now),
            )
            .order_by(Bundle.id)
            .limit(1)
            .with_for_update(skip_locked=True)  # several workers render different bundles (PostgreSQL)
        ).first()
        if bundle is None:
            db.session.commit()
            return None
        if bundle.render_attempts >= max_attempts:
            bundle.state, bundle.render_lease_until = BundleState.FAILED, None
            bundle.failure, bundle.failure_detail = BundleFailure.WORKER_STOPPED, ""
            db.session.commit()
            continue
        bundle.render_attempts += 1
        bundle.render_lease_until = now + timedelta(seconds=current_app.config["BUNDLE_RENDER_LEASE_SECONDS"])
        claim = bundle.id, bundle.render_attempts
        db.session.commit()
        return claim


def _bundle_letters(bundle_id: int) -> list[SolidarityLetter]:
    return list(
        db.session.scalars(
            select(SolidarityLetter).where(SolidarityLetter.bundle_id == bundle_id).order_by(SolidarityLetter.id)
        )
    )


def _still_ours(bundle_id: int, attempt: int) -> Bundle | None:
    """The bundle, locked, if this render is still the one it waits for (not taken over after a lapsed lease)."""
    bundle = db.session.get(Bundle, bundle_id, with_for_update=True, populate_existing=True)
    if bundle is None or bundle.state != BundleState.RENDERING or bundle.render_attempts != attempt:
        return None
    return bundle


def _store_bundle(bundle_id: int, attempt: int, pdf: bytes) -> None:
    """The PDF and the email to the case's contact, in one transaction: a ready bundle has been queued, once."""
    bundle = _still_ours(bundle_id, attempt)
    if bundle is None:
        return
    case = bundle.case
    bundle.pdf = pdf
    if case.forwarding_contact_email:
        email = render_email("bundle", bundle.locale, case=case, count=bundle.letter_count)
        email.attachments.append(Attachment(f"messages-of-hope-{case.slug}-{bundle.id}.pdf", pdf, "application", "pdf"))
        message = outbox.enqueue(email, kind="bundle", recipient=case.forwarding_contact_email)
        if message.state == "failed":  # the outbox could not compose it (an address no server takes)
            raise ContactRefused(f"{case.forwarding_contact_email}: {message.last_reply}")
        bundle.outbound_message_id = message.id
        bundle.sent_to = case.forwarding_contact_email
    bundle.state, bundle.rendered_at, bundle.render_lease_until = BundleState.READY, utcnow(), None
    db.session.flush()


def _fail_after_rollback(bundle_id: int, attempt: int, failure: BundleFailure, detail: str) -> None:
    db.session.rollback()
    bundle = _still_ours(bundle_id, attempt)
    if bundle is not None:
        bundle.state, bundle.render_lease_until = BundleState.FAILED, None
        bundle.failure = failure
        bundle.failure_detail = detail[:500]
    db.session.commit()


def bundles_for(case_id: int | None = None) -> list[Bundle]:
    query = select(Bundle).options(joinedload(Bundle.case), joinedload(Bundle.created_by))
    if case_id:
        query = query.where(Bundle.case_id == case_id)
    return list(db.session.scalars(query.order_by(Bundle.id.desc()).limit(200)))


def waiting_to_forward() -> dict[int, int]:
    """Approved letters not yet forwarded, per case id (a small set: letters leave it when bundled)."""
    rows = db.session.execute(
        select(SolidarityLetter.case_id, func.count())
        .where(SolidarityLetter.state == "approved", SolidarityLetter.bundle_id.is_(None))
        .group_by(SolidarityLetter.case_id)
    )
    return dict(rows.all())


def pending_count(cap: int = 10_000) -> int:
    """Letters waiting for a decision, counted up to `cap` (the queue index answers it; no full count)."""
    capped = select(SolidarityLetter.id).where(SolidarityLetter.state == "pending").limit(cap).subquery()
    return db.session.scalar(select(func.count()).select_from(capped))


def oldest_pending_at() -> datetime | None:
    """When the letter that has waited longest for a decision arrived (the queue index answers it)."""
    return db.session.scalar(select(func.min(SolidarityLetter.created_at)).where(SolidarityLetter.state == "pending"))
