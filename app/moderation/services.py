"""Moderating messages of hope: the queue (paginated by key), decisions with their audit trail."""

from __future__ import annotations

from datetime import datetime

from flask import current_app
from sqlalchemy import func, select, tuple_
from sqlalchemy.orm import joinedload

from app import text
from app.admin.models import User
from app.extensions import db
from app.models_base import utcnow
from app.moderation.models import ModerationEvent
from app.solidarity.models import SolidarityLetter

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


def create_bundle(case, actor: User, locale: str = "en"):
    """Forward every approved letter of `case` not yet forwarded, exactly once, even with two moderators at once.

    The letters are claimed by a single conditional UPDATE (`bundle_id IS NULL`): whichever transaction commits
    first takes them; the other finds none and fails with NothingToForward. A bundle holds at most
    BUNDLE_MAX_LETTERS letters (a PDF a family can print, an email a mail server accepts); the rest wait for the next.
    """
    from sqlalchemy import update

    from app.mail import services as outbox
    from app.mail.compose import Attachment, render_email
    from app.moderation.models import Bundle
    from app.moderation.pdf import render_bundle_pdf

    bundle = Bundle(case_id=case.id, created_by_id=actor.id, created_at=utcnow())
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
    letters = list(
        db.session.scalars(
            select(SolidarityLetter).where(SolidarityLetter.bundle_id == bundle.id).order_by(SolidarityLetter.id)
        )
    )
    bundle.letter_count = len(letters)
    bundle.pdf = render_bundle_pdf(case, letters, locale)
    if case.forwarding_contact_email:
        email = render_email("bundle", locale, case=case, count=len(letters))
        email.attachments.append(
            Attachment(f"messages-of-hope-{case.slug}-{bundle.id}.pdf", bundle.pdf, "application", "pdf")
        )
        message = outbox.enqueue(email, kind="bundle", recipient=case.forwarding_contact_email)
        bundle.outbound_message_id = message.id
        bundle.sent_to = case.forwarding_contact_email
    db.session.flush()
    return bundle


def bundles_for(case_id: int | None = None):
    from app.moderation.models import Bundle

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
