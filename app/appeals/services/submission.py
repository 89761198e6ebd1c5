"""Writing and confirming an appeal: one revision per submission, bot traps kept apart, one email per
authority address (or a place in its daily digest) once the address is confirmed."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import literal_column, select, update

from app.addresses import address_digest
from app.appeals.models import Appeal, DigestEntry
from app.appeals.services.errors import AppealExpired, CaseClosed, DuplicateAppeal
from app.appeals.services.tokens import appeal_from_confirmation_token, confirmation_token, public_url, status_token
from app.cases.models import Case, Target
from app.cases.services import localized_content, record_action
from app.extensions import db, upsert_insert
from app.i18n import country_name
from app.mail import outbox
from app.mail.compose import Email, render_email
from app.models_base import utcnow


@dataclass
class AppealInput:
    name: str
    email: str
    country: str
    letter: str
    locale: str
    letter_language: str
    consent_share: bool
    consent_reply: bool = False
    consent_updates: bool = False


@dataclass
class Submission:
    appeal: Appeal
    # "confirmation_sent", "confirmation_throttled", "queued", "held", "duplicate_notified"
    outcome: str


def appeal_draft(case: Case, locale: str, letter_language: str | None = None) -> tuple[str, str, str]:
    """The letter to prefill: (language, subject, template), in the requested language when the case has it."""
    language = letter_language if letter_language in letter_languages(case, locale) else locale
    content = localized_content(case, language)
    return content["appeal_template"].lang, content["appeal_subject"].text, content["appeal_template"].text


def letter_languages(case: Case, locale: str) -> list[str]:
    """Languages a supporter may send their letter in: theirs, and the authorities' own when translated."""
    available = {t.locale for t in case.translations if t.appeal_template}
    languages = [locale] if locale in available else ["en"]
    for target in case.targets:
        if target.language in available and target.language not in languages:
            languages.append(target.language)
    return languages


def submit_appeal(case: Case, data: AppealInput, *, automated: bool = False) -> Submission:
    """Record an appeal and send the confirmation email (or queue it at once when confirmation is off)."""
    if case.status != "active" or not case.published or not case.targets:
        raise CaseClosed()
    digest = address_digest(data.email)
    language, subject, _ = appeal_draft(case, data.locale, data.letter_language)
    now = utcnow()
    values = {
        "name": data.name,
        "email": data.email,
        "country": data.country,
        "locale": data.locale,
        "letter_language": language,
        "subject": subject,
        "letter": data.letter,
        "consent_share": data.consent_share,
        "consent_reply": data.consent_reply,
        "consent_updates": data.consent_updates,
        "created_at": now,
        "state": "held" if automated else "unconfirmed",
        "expires_at": now + timedelta(hours=current_app.config["APPEAL_CONFIRM_HOURS"]),
        "confirmed_at": None,
        "erased_at": None,  # a replaced appeal holds personal data again: the retention policy must see it
    }
    if automated:
        # Kept apart (the unique index leaves held rows out): a trap filled with someone's address must never
        # replace or block the appeal they are writing themselves.
        appeal = Appeal(case_id=case.id, email_digest=digest, public_id=secrets.token_urlsafe(18), **values)
        db.session.add(appeal)
        db.session.flush()
        return Submission(appeal, "held")
    # One statement, safe against two tabs posting at once: a new appeal is inserted; an earlier one from the same
    # address that was never confirmed (expired, or still waiting) is rewritten as a new revision, so that links
    # sent for the earlier text stop working; a confirmed one is left alone.
    upsert = upsert_insert(Appeal).values(
        case_id=case.id, email_digest=digest, public_id=secrets.token_urlsafe(18), revision=1, **values
    )
    upsert = upsert.on_conflict_do_update(
        index_elements=[Appeal.case_id, Appeal.email_digest],
        index_where=Appeal.state != literal_column("'held'"),  # literal: PostgreSQL's generic plans need it
        set_={**values, "revision": Appeal.revision + 1},
        where=Appeal.state != "confirmed",
    )
    appeal = db.session.scalars(upsert.returning(Appeal), execution_options={"populate_existing": True}).one_or_none()
    if appeal is None:
        existing = db.session.scalar(
            select(Appeal).where(Appeal.case_id == case.id, Appeal.email_digest == digest, Appeal.state != "held")
        )
        raise DuplicateAppeal(existing)

    if not current_app.config["APPEAL_CONFIRMATION"]:
        _queue_for_authorities(appeal, now)
        return Submission(appeal, "queued")
    if _confirmations_exhausted(appeal.email):
        return Submission(appeal, "confirmation_throttled")
    email = render_email(
        "appeal_confirm",
        appeal.locale,
        case=case,
        confirm_url=public_url("appeals.confirm", lang_code=appeal.locale, token=confirmation_token(appeal)),
        hours=current_app.config["APPEAL_CONFIRM_HOURS"],
    )
    email.auto_submitted = True
    outbox.enqueue(email, kind="confirmation", recipient=appeal.email, appeal_id=appeal.id)
    return Submission(appeal, "confirmation_sent")


def notify_duplicate(appeal: Appeal | None, locale: str) -> bool:
    """Tell the address's owner (not the visitor) that this person has already written: no leak of who supports whom."""
    if appeal is None or appeal.state != "confirmed" or _confirmations_exhausted(appeal.email):
        return False
    email = render_email(
        "appeal_duplicate",
        locale,
        case=appeal.case,
        status_url=public_url("appeals.status", lang_code=locale, token=status_token(appeal)),
    )
    email.auto_submitted = True
    outbox.enqueue(email, kind="notice", recipient=appeal.email, appeal_id=appeal.id)
    return True


def _confirmations_exhausted(address: str) -> bool:
    limit = current_app.config["CONFIRMATIONS_PER_ADDRESS_PER_HOUR"]
    return outbox.recent_messages_to(address, ("confirmation", "notice"), timedelta(hours=1)) >= limit


def confirm_appeal(token: str) -> Appeal:
    """Confirm the address behind a token and queue the appeal for the authorities (once, however often clicked)."""
    appeal = appeal_from_confirmation_token(token)
    if appeal.state == "confirmed":
        return appeal
    now = utcnow()
    if appeal.state != "unconfirmed" or (appeal.expires_at and appeal.expires_at < now):
        raise AppealExpired()
    _queue_for_authorities(appeal, now)
    return appeal


def _queue_for_authorities(appeal: Appeal, now: datetime) -> None:
    """One email per target address (or a place in its daily digest), in this transaction."""
    appeal.state = "confirmed"
    appeal.confirmed_at = now
    appeal.expires_at = None
    case = appeal.case
    for target in case.targets:
        for address in target.addresses:
            if target.digest:
                db.session.add(DigestEntry(appeal_id=appeal.id, target_address_id=address.id, created_at=now))
                continue
            outbox.enqueue(
                authority_email(appeal, target),
                kind="appeal",
                recipient=address.email,
                target_address_id=address.id,
                appeal_id=appeal.id,
                message_id=f"<appeal.{appeal.public_id}.{address.id}@{mail_domain()}>",
            )
    record_action(case.id, "appeal")
    db.session.flush()


def mail_domain() -> str:
    return current_app.config["MAIL_DEFAULT_SENDER"].rpartition("@")[2]


def authority_email(appeal: Appeal, target: Target) -> Email:
    """The letter as the supporter wrote it, signed with their name and country, from the platform's address."""
    site = current_app.config["SITE_NAME"]
    signature = f"{appeal.name}\n{country_name(appeal.country, appeal.letter_language)}"
    return Email(
        subject=appeal.subject,
        text=f"{appeal.letter}\n\n{signature}\n",
        sender_name=f"{appeal.name} via {site}",
        reply_to=appeal.email if appeal.consent_reply else None,
    )


def expire_unconfirmed(now: datetime | None = None) -> int:
    """Unconfirmed appeals past their time are expired: never sent, and their letter is dropped."""
    now = now or utcnow()
    result = db.session.execute(
        update(Appeal)
        .where(Appeal.state == "unconfirmed", Appeal.expires_at < now)
        .values(state="expired", letter="")
        .execution_options(synchronize_session=False)
    )
    return result.rowcount
