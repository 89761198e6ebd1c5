"""Appeals: submission, confirmation, queueing for the authorities, expiry, digests, delivery status."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeSerializer, URLSafeTimedSerializer
from sqlalchemy import and_, exists, func, or_, select, update

from app.addresses import address_digest
from app.cases.models import Case, CaseUpdate, Target, TargetAddress
from app.cases.services import localized_content, record_action
from app.extensions import db, upsert_insert
from app.i18n import country_name
from app.letters.models import Appeal, DigestEntry
from app.mail import services as outbox
from app.mail.compose import Attachment, Email, render_email
from app.mail.models import OutboundMessage
from app.models_base import utcnow

CONFIRM_SALT = "appeal-confirm"
STATUS_SALT = "appeal-status"


class AppealError(Exception):
    """A reason an appeal cannot go ahead, shown to the supporter."""


class CaseClosed(AppealError):
    pass


class DuplicateAppeal(AppealError):
    def __init__(self, appeal: Appeal | None):
        super().__init__("duplicate appeal")
        self.appeal = appeal


class InvalidToken(AppealError):
    pass


class AppealExpired(AppealError):
    pass


class AppealSuperseded(AppealError):
    """A newer version of this appeal was written after this link was sent: only the latest link counts."""


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


# --- tokens ----------------------------------------------------------------------------------------------------


def confirmation_token(appeal: Appeal) -> str:
    """The link's token names the appeal and the revision it was sent for."""
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=CONFIRM_SALT).dumps(
        [appeal.public_id, appeal.revision]
    )


def _signed_link_token(appeal: Appeal, salt: str) -> str:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=salt).dumps(appeal.public_id)


def _appeal_from_signed_link(token: str, salt: str) -> Appeal:
    """The appeal a private link names (status page, unsubscribe), or InvalidToken if it was not ours."""
    try:
        public_id = URLSafeSerializer(current_app.config["SECRET_KEY"], salt=salt).loads(token)
    except BadSignature:
        raise InvalidToken() from None
    appeal = db.session.scalar(select(Appeal).where(Appeal.public_id == public_id))
    if appeal is None:
        raise InvalidToken()
    return appeal


def status_token(appeal: Appeal) -> str:
    return _signed_link_token(appeal, STATUS_SALT)


def appeal_from_status_token(token: str) -> Appeal:
    return _appeal_from_signed_link(token, STATUS_SALT)


def _appeal_from_confirmation_token(token: str, *, for_update: bool = True) -> Appeal:
    """The appeal a confirmation link names, or InvalidToken, AppealExpired or AppealSuperseded."""
    max_age = current_app.config["APPEAL_CONFIRM_HOURS"] * 3600
    serializer = URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=CONFIRM_SALT)
    expired = False
    try:
        payload = serializer.loads(token, max_age=max_age)
    except SignatureExpired:
        payload, expired = serializer.loads(token), True  # genuine but late
    except BadSignature:
        raise InvalidToken() from None
    # Links sent before revisions existed name the appeal only: they stand for its first revision.
    if isinstance(payload, str):
        public_id, revision = payload, 1
    elif isinstance(payload, list) and len(payload) == 2:
        public_id, revision = payload
    else:
        raise InvalidToken()
    query = select(Appeal).where(Appeal.public_id == public_id, Appeal.state != "held")
    appeal = db.session.scalar(query.with_for_update() if for_update and not expired else query)
    if appeal is None:
        raise InvalidToken()
    if appeal.state == "confirmed":
        return appeal  # clicking the link again shows what was sent
    if revision != appeal.revision:
        raise AppealSuperseded()
    if expired:
        raise AppealExpired()
    return appeal


def appeal_to_confirm(token: str) -> Appeal:
    """What a confirmation link would send (the page shows it before the supporter presses the button)."""
    appeal = _appeal_from_confirmation_token(token, for_update=False)
    if appeal.state not in ("unconfirmed", "confirmed") or (
        appeal.state == "unconfirmed" and appeal.expires_at and appeal.expires_at < utcnow()
    ):
        raise AppealExpired()
    return appeal


def public_url(endpoint: str, **values) -> str:
    """An absolute link for emails, on the configured public address (works in the worker and CLI too)."""
    base = urlsplit(current_app.config["PUBLIC_BASE_URL"])
    adapter = current_app.url_map.bind(base.netloc, script_name=base.path or "/", url_scheme=base.scheme)
    return adapter.build(endpoint, values, force_external=True)


# --- submitting and confirming -----------------------------------------------------------------------------------


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
        index_where=Appeal.state != "held",
        set_={**values, "revision": Appeal.revision + 1},
        where=Appeal.state != "confirmed",
    )
    appeal = db.session.scalars(
        upsert.returning(Appeal), execution_options={"populate_existing": True}
    ).one_or_none()
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
        confirm_url=public_url("letters.confirm", lang_code=appeal.locale, token=confirmation_token(appeal)),
        hours=current_app.config["APPEAL_CONFIRM_HOURS"],
    )
    email.extra_headers["_auto"] = "yes"
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
        status_url=public_url("letters.status", lang_code=locale, token=status_token(appeal)),
    )
    email.extra_headers["_auto"] = "yes"
    outbox.enqueue(email, kind="notice", recipient=appeal.email, appeal_id=appeal.id)
    return True


def _confirmations_exhausted(address: str) -> bool:
    limit = current_app.config["CONFIRMATIONS_PER_ADDRESS_PER_HOUR"]
    return outbox.recent_messages_to(address, ("confirmation", "notice"), timedelta(hours=1)) >= limit


def confirm_appeal(token: str) -> Appeal:
    """Confirm the address behind a token and queue the appeal for the authorities (once, however often clicked)."""
    appeal = _appeal_from_confirmation_token(token)
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
                message_id=f"<appeal.{appeal.public_id}.{address.id}@{_mail_domain()}>",
            )
    record_action(case.id, "appeal")
    db.session.flush()


def _mail_domain() -> str:
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


# --- daily digests -----------------------------------------------------------------------------------------------


def build_due_digests(now: datetime | None = None) -> int:
    """For each digest address with waiting appeals and no digest yet today (after the digest hour), queue its
    digest: one email, or several when the day's letters would not fit in MAIL_MAX_MESSAGE_BYTES. Returns how
    many emails were queued."""
    now = now or utcnow()
    if now.hour < current_app.config["DIGEST_HOUR_UTC"]:
        return 0
    start_of_day = now.replace(hour=0, minute=0, second=0, microsecond=0)
    waiting = db.session.execute(
        select(DigestEntry.target_address_id, func.count())
        .where(DigestEntry.outbound_message_id.is_(None))
        .group_by(DigestEntry.target_address_id)
    ).all()
    built = 0
    for address_id, _count in waiting:
        sent_today = db.session.scalar(
            select(func.count())
            .select_from(OutboundMessage)
            .where(
                OutboundMessage.kind == "digest",
                OutboundMessage.target_address_id == address_id,
                OutboundMessage.created_at >= start_of_day,
            )
        )
        if sent_today:
            continue
        address = db.session.get(TargetAddress, address_id, with_for_update=True)
        entries = list(
            db.session.scalars(
                select(DigestEntry)
                .where(DigestEntry.target_address_id == address_id, DigestEntry.outbound_message_id.is_(None))
                .order_by(DigestEntry.id)
                .with_for_update()
            )
        )
        built += _queue_digests(address, entries, now, current_app.config["MAIL_MAX_MESSAGE_BYTES"])
    db.session.flush()
    return built


def split_refused_digests(now: datetime | None = None) -> int:
    """Housekeeping: a digest the relay refused as too big (552, or status 5.3.4 / 5.2.3) is queued again as
    smaller digests, half its size each, instead of failing unchanged on every retry. Returns emails queued."""
    now = now or utcnow()
    too_big = or_(
        OutboundMessage.last_reply.like("552%"),
        OutboundMessage.last_reply.like("%5.3.4%"),
        OutboundMessage.last_reply.like("%5.2.3%"),
    )
    refused = db.session.scalars(
        select(OutboundMessage)
        .where(OutboundMessage.kind == "digest", OutboundMessage.state == "failed", too_big)
        .where(exists().where(DigestEntry.outbound_message_id == OutboundMessage.id))
        .limit(50)
    ).all()
    queued = 0
    for message in refused:
        entries = list(
            db.session.scalars(
                select(DigestEntry).where(DigestEntry.outbound_message_id == message.id).order_by(DigestEntry.id)
            )
        )
        if len(entries) < 2 or message.target_address_id is None:
            continue  # one letter alone is too big for this server: it stays failed, with the reply, for staff
        address = db.session.get(TargetAddress, message.target_address_id)
        queued += _queue_digests(address, entries, now, max(1, len(message.raw) // 2), split_at_least=2)
        message.last_reply = f"{message.last_reply} (queued again as smaller digests)"[:2000]
    db.session.flush()
    return queued


# A digest's attachment travels in base64 (4 bytes for 3) beside headers and a short body.
_DIGEST_OVERHEAD_BYTES = 16 * 1024


def _queue_digests(
    address: TargetAddress, entries: list[DigestEntry], now: datetime, max_bytes: int, split_at_least: int = 1
) -> int:
    """Queue `entries` as digests of at most `max_bytes` each (estimated before encoding); returns how many."""
    if not entries:
        return 0
    appeals = {
        a.id: a for a in db.session.scalars(select(Appeal).where(Appeal.id.in_([e.appeal_id for e in entries])))
    }
    budget = max(1, (max_bytes - _DIGEST_OVERHEAD_BYTES) * 3 // 4)
    chunks: list[list[DigestEntry]] = [[]]
    used = 0
    for entry in entries:
        size = len(_digest_letter(appeals[entry.appeal_id], 0).encode("utf-8"))
        if chunks[-1] and used + size > budget:
            chunks.append([])
            used = 0
        chunks[-1].append(entry)
        used += size
    if len(chunks) < split_at_least:
        half = (len(entries) + 1) // 2
        chunks = [entries[:half], entries[half:]]
    for part, chunk in enumerate(chunks, start=1):
        message = outbox.enqueue(
            digest_email(address, [appeals[e.appeal_id] for e in chunk], now, part=part, parts=len(chunks)),
            kind="digest",
            recipient=address.email,
            target_address_id=address.id,
        )
        for entry in chunk:
            entry.outbound_message_id = message.id
    return len(chunks)


def _digest_letter(appeal: Appeal, index: int) -> str:
    country = country_name(appeal.country, appeal.letter_language)
    return f"--- {index} ---\n{appeal.subject}\n\n{appeal.letter}\n\n{appeal.name}\n{country}"


def digest_email(address: TargetAddress, appeals: list[Appeal], now: datetime, part: int = 1, parts: int = 1) -> Email:
    target = address.target
    case = target.case
    email = render_email(
        "appeal_digest",
        target.language if target.language in current_app.config["LANGUAGES"] else "en",
        case=case,
        target=target,
        count=len(appeals),
        day=now.date(),
    )
    letters = "\n\n".join(_digest_letter(a, index) for index, a in enumerate(appeals, start=1))
    name = f"appeals-{case.slug}-{now.date().isoformat()}"
    if parts > 1:
        name += f"-{part}-of-{parts}"
    email.attachments.append(Attachment(f"{name}.txt", letters.encode("utf-8"), "text", "plain"))
    return email


# --- delivery status ---------------------------------------------------------------------------------------------


@dataclass
class DeliveryLine:
    target: str
    state: str  # "queued", "sent", "failed", "digest"
    sent_at: datetime | None = None
    reply: str | None = None


def delivery_status(appeal: Appeal) -> list[DeliveryLine]:
    lines: list[DeliveryLine] = []
    messages = db.session.execute(
        select(OutboundMessage, Target)
        .join(TargetAddress, TargetAddress.id == OutboundMessage.target_address_id)
        .join(Target, Target.id == TargetAddress.target_id)
        .where(OutboundMessage.appeal_id == appeal.id, OutboundMessage.kind == "appeal")
        .order_by(OutboundMessage.id)
    ).all()
    for message, target in messages:
        state = {"sent": "sent", "failed": "failed"}.get(message.state, "queued")
        lines.append(
            DeliveryLine(
                target.title or target.name,
                state,
                message.sent_at,
                message.last_reply if state == "failed" else None,
            )
        )
    entries = db.session.execute(
        select(DigestEntry, Target, OutboundMessage)
        .join(TargetAddress, TargetAddress.id == DigestEntry.target_address_id)
        .join(Target, Target.id == TargetAddress.target_id)
        .outerjoin(OutboundMessage, OutboundMessage.id == DigestEntry.outbound_message_id)
        .where(DigestEntry.appeal_id == appeal.id)
    ).all()
    for _entry, target, message in entries:
        if message is None:
            lines.append(DeliveryLine(target.title or target.name, "digest"))
        else:
            state = {"sent": "sent", "failed": "failed"}.get(message.state, "queued")
            lines.append(DeliveryLine(target.title or target.name, state, message.sent_at))
    return lines


# --- privacy -----------------------------------------------------------------------------------------------------

WITHDRAWN = "withdrawn: the supporter asked for their data to be erased"


def erase_appeals(digest: str | None, cutoff: datetime | None, now: datetime) -> int:
    """Blank the personal data of appeals: one supporter's (by address digest), or all finished before `cutoff`.

    Figures do not move: the rows keep their case, country, language and dates, and the counters are separate.
    Erasing on request also withdraws messages not yet sent.
    """
    if digest is not None:
        condition = Appeal.email_digest == digest
    else:
        unconfirmed_cutoff = max(cutoff, now - timedelta(hours=current_app.config["APPEAL_CONFIRM_HOURS"]))
        waiting_message = exists().where(
            OutboundMessage.appeal_id == Appeal.id, OutboundMessage.state.in_(("pending", "retry", "sending"))
        )
        waiting_digest = exists().where(DigestEntry.appeal_id == Appeal.id, DigestEntry.outbound_message_id.is_(None))
        condition = or_(
            and_(Appeal.state == "confirmed", Appeal.confirmed_at < cutoff, ~waiting_message, ~waiting_digest),
            # Never confirmed (waiting, expired, held by a bot trap): kept no longer than a confirmation link lives.
            and_(Appeal.state != "confirmed", Appeal.created_at < unconfirmed_cutoff),
        )
    ids = list(db.session.scalars(select(Appeal.id).where(condition, Appeal.erased_at.is_(None))))
    erased = 0
    for start in range(0, len(ids), 1000):
        chunk = ids[start : start + 1000]
        erased += db.session.execute(
            update(Appeal)
            .where(Appeal.id.in_(chunk))
            .values(name="", email="", letter="", consent_reply=False, consent_updates=False, erased_at=now)
            .execution_options(synchronize_session=False)
        ).rowcount
        db.session.execute(
            update(OutboundMessage)
            .where(OutboundMessage.appeal_id.in_(chunk), OutboundMessage.state.in_(("pending", "retry", "sending")))
            .values(state="failed", failed_at=now, last_reply=WITHDRAWN, lease_token=None, lease_expires_at=None)
            .execution_options(synchronize_session=False)
        )
        db.session.execute(
            update(OutboundMessage)
            .where(OutboundMessage.appeal_id.in_(chunk))
            .values(raw=b"")
            .execution_options(synchronize_session=False)
        )
        db.session.execute(
            update(OutboundMessage)
            .where(OutboundMessage.appeal_id.in_(chunk), OutboundMessage.kind.in_(("confirmation", "notice")))
            .values(recipient="", delivered_to=None)
            .execution_options(synchronize_session=False)
        )
    if cutoff is not None:
        # Daily digests carry many supporters' letters in their attachment.
        db.session.execute(
            update(OutboundMessage)
            .where(
                OutboundMessage.kind == "digest",
                OutboundMessage.state.in_(("sent", "failed")),
                OutboundMessage.created_at < cutoff,
                OutboundMessage.raw != b"",
            )
            .values(raw=b"")
            .execution_options(synchronize_session=False)
        )
    return erased


# --- the impact loop: telling supporters what their letters did -----------------------------------------------------

UNSUBSCRIBE_SALT = "appeal-unsubscribe"


def unsubscribe_token(appeal: Appeal) -> str:
    return _signed_link_token(appeal, UNSUBSCRIBE_SALT)


def unsubscribe(token: str) -> Appeal:
    """Stop news of this case for this supporter (idempotent)."""
    appeal = _appeal_from_signed_link(token, UNSUBSCRIBE_SALT)
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
    domain = _mail_domain()
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
        db.session.scalars(select(OutboundMessage.message_id).where(OutboundMessage.message_id.in_(message_ids.values())))
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
        unsubscribe_url = public_url("letters.unsubscribe", lang_code=locale, token=unsubscribe_token(appeal))
        email = render_email(
            "case_progress",
            locale,
            case=case,
            update_text=text,
            outcome=outcome[locale],
            case_url=public_url("cases.case_detail", lang_code=locale, slug=case.slug),
            unsubscribe_url=unsubscribe_url,
        )
        email.extra_headers.update(
            {
                "List-Unsubscribe": f"<{unsubscribe_url}>",
                "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
                "_auto": "yes",
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
