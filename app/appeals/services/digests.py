"""Daily digests: one email a day per authority address that prefers it, split to fit the relay's size limit."""

from __future__ import annotations

from datetime import datetime

from flask import current_app
from sqlalchemy import exists, func, or_, select

from app.appeals.models import Appeal, DigestEntry
from app.cases.models import TargetAddress
from app.extensions import db
from app.i18n import country_name
from app.mail import outbox
from app.mail.compose import Attachment, Email, render_email
from app.mail.models import OutboundMessage
from app.models_base import utcnow


def appeals_await_digest(address_ids: list[int]) -> str | None:
    """Why these authority addresses cannot be removed now: appeals wait for their daily digest (or None)."""
    waiting = db.session.scalar(
        select(DigestEntry.id)
        .where(DigestEntry.target_address_id.in_(address_ids), DigestEntry.outbound_message_id.is_(None))
        .limit(1)
    )
    return "appeals are waiting for this address's daily digest" if waiting else None


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
    appeals = {a.id: a for a in db.session.scalars(select(Appeal).where(Appeal.id.in_([e.appeal_id for e in entries])))}
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
