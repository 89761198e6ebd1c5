"""News of a case for the supporters who asked for it: paced, once each, with one-click unsubscribe."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import select

from app.appeals.models import Appeal
from app.appeals.services.submission import mail_domain
from app.appeals.services.tokens import UNSUBSCRIBE_SALT, appeal_from_signed_link, public_url, unsubscribe_token
from app.cases.models import Case, CaseUpdate
from app.cases.services import localized_content
from app.extensions import db
from app.mail import outbox
from app.mail.compose import render_email
from app.mail.models import OutboundMessage
from app.models_base import utcnow


def unsubscribe(token: str) -> Appeal:
    """Stop news of this case for this supporter (idempotent)."""
    appeal = appeal_from_signed_link(token, UNSUBSCRIBE_SALT)
    appeal.consent_updates = False
    db.session.flush()
    return appeal


ANNOUNCE_BATCH = 1000


def notify_supporters(case: Case, update: CaseUpdate, now: datetime | None = None) -> int:
    """Queue now a short email about `update` to each supporter of `case` who asked for news (`flask appeals
    notify`). One email per supporter and update, however often this is called; returns how many were queued."""
    now = now or utcnow()
    queued, after_id = 0, 0
    while True:
        batch, after_id = _announce_batch(case, update, after_id, start=now, already_queued=queued)
        queued += batch
        if after_id is None:
            return queued


def request_announcement(update: CaseUpdate, now: datetime | None = None) -> bool:
    """Ask the mail worker to tell the case's supporters about `update` (from an admin's page, where a case with a
    million supporters must not hold up the request). False when it was already asked for."""
    if update.announce_requested_at is not None:
        return False
    update.announce_requested_at = now or utcnow()
    update.announce_cursor = 0
    update.announce_queued = 0
    db.session.flush()
    return True


def send_due_announcements(max_batches: int = 10) -> int:
    """Housekeeping: expand requested announcements into paced impact emails, a batch at a time (committed)."""
    queued = 0
    for _ in range(max_batches):
        query = (
            select(CaseUpdate)
            .where(CaseUpdate.announce_requested_at.is_not(None), CaseUpdate.announced_at.is_(None))
            .order_by(CaseUpdate.announce_requested_at)
            .limit(1)
            .with_for_update(skip_locked=True)  # one worker expands an announcement at a time (PostgreSQL)
        )
        update = db.session.scalars(query).first()
        if update is None:
            break
        batch, after_id = _announce_batch(
            update.case,
            update,
            update.announce_cursor,
            start=update.announce_requested_at,
            already_queued=update.announce_queued,
        )
        update.announce_queued += batch
        if after_id is None:
            update.announced_at = utcnow()
        else:
            update.announce_cursor = after_id
        db.session.commit()
        queued += batch
    return queued


def _announce_batch(
    case: Case, update: CaseUpdate, after_id: int, *, start: datetime, already_queued: int
) -> tuple[int, int | None]:
    """Impact emails for the next supporters after appeal `after_id`, spaced IMPACT_EMAILS_PER_MINUTE from `start`.

    Returns how many were queued and the last appeal id looked at (None once every supporter was looked at).
    """
    domain = mail_domain()
    per_minute = max(1, current_app.config["IMPACT_EMAILS_PER_MINUTE"])
    appeals = list(
        db.session.scalars(
            select(Appeal)
            .where(Appeal.case_id == case.id, Appeal.id > after_id, Appeal.state == "confirmed")
            .where(Appeal.consent_updates.is_(True), Appeal.email != "")
            .order_by(Appeal.id)
            .limit(ANNOUNCE_BATCH)
        )
    )
    message_ids = {appeal.id: f"<impact.{update.id}.{appeal.public_id}@{domain}>" for appeal in appeals}
    already = set(
        db.session.scalars(
            select(OutboundMessage.message_id).where(OutboundMessage.message_id.in_(message_ids.values()))
        )
    )
    outcome = {}
    queued = 0
    for appeal in appeals:
        if message_ids[appeal.id] in already:
            continue
        locale = appeal.locale if appeal.locale in current_app.config["LANGUAGES"] else "en"
        if locale not in outcome:
            outcome[locale] = localized_content(case, locale)["outcome"]
        text, _text_lang = update.text_for(locale)
        unsubscribe_url = public_url("appeals.unsubscribe", lang_code=locale, token=unsubscribe_token(appeal))
        email = render_email(
            "case_progress",
            locale,
            case=case,
            update_text=text,
            outcome=outcome[locale],
            case_url=public_url("cases.case_detail", lang_code=locale, slug=case.slug),
            unsubscribe_url=unsubscribe_url,
        )
        email.auto_submitted = True
        email.extra_headers.update(
            {
                "List-Unsubscribe": f"<{unsubscribe_url}>",
                "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            }
        )
        outbox.enqueue(
            email,
            kind="impact",
            recipient=appeal.email,
            appeal_id=appeal.id,
            message_id=message_ids[appeal.id],
            not_before=start + timedelta(minutes=(already_queued + queued) / per_minute),
        )
        queued += 1
    db.session.flush()
    if len(appeals) < ANNOUNCE_BATCH:
        return queued, None
    return queued, appeals[-1].id
