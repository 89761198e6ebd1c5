"""The outbox's operations: queue a message (in the caller's transaction), claim due ones, record their fate.

Claims are safe with several workers on several machines: on PostgreSQL with `FOR UPDATE SKIP LOCKED`, and on
every database with a compare-and-set on the row's state and lease token, so a row is leased by one worker at a time.
"""

from __future__ import annotations

import random
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.errors import MessageError

from flask import current_app
from sqlalchemy import and_, bindparam, case, func, or_, select, update

from app.addresses import AddressError, accepted_address, address_digest
from app.cases.models import Target, TargetAddress
from app.extensions import db
from app.mail.compose import (
    Email,
    build_message,
    checked_address,
    header_text,
    message_bytes,
    new_message_id,
    sender_address,
)
from app.mail.models import OutboundMessage
from app.models_base import utcnow

DUE_STATES = ("pending", "retry")
_outbox = OutboundMessage.__table__  # bulk updates go through Core: one statement, many rows


def enqueue(
    email: Email,
    *,
    kind: str,
    recipient: str,
    target_address_id: int | None = None,
    appeal_id: int | None = None,
    message_id: str | None = None,
    not_before: datetime | None = None,
) -> OutboundMessage:
    """Queue one email. Flushes in the caller's transaction: the email exists exactly when the change does.

    Never raises for what a supporter or an admin typed: a message that cannot be composed (an address no server
    takes, say) is stored as failed with the reason, where staff see it, and the change goes ahead.
    """
    message_id = message_id or new_message_id(kind)
    now = utcnow()
    row = OutboundMessage(
        kind=kind,
        state="pending",
        message_id=message_id,
        sender=sender_address(),
        recipient=recipient[:320],
        recipient_digest=address_digest(recipient),
        target_address_id=target_address_id,
        appeal_id=appeal_id,
        next_attempt_at=not_before or now,
        created_at=now,
    )
    try:
        row.recipient = checked_address(recipient)
        msg = build_message(email, message_id)
        row.subject = str(msg["Subject"])[:300]
        row.raw = message_bytes(msg)
    except (AddressError, UnicodeError, ValueError, MessageError) as error:
        reason = error.code if isinstance(error, AddressError) else type(error).__name__
        row.state, row.failed_at, row.raw = "failed", now, b""
        row.subject = header_text(email.subject, 300)
        row.last_reply = f"not sent: the message could not be composed ({reason})"
    db.session.add(row)
    db.session.flush()
    return row


def recent_messages_to(recipient: str, kinds: tuple[str, ...], within: timedelta) -> int:
    """Messages of `kinds` queued for this address (in any spelling: the normalised digest) within `within`."""
    return db.session.scalar(
        select(func.count())
        .select_from(OutboundMessage)
        .where(
            OutboundMessage.recipient_digest == address_digest(recipient),
            OutboundMessage.kind.in_(kinds),
            OutboundMessage.created_at > utcnow() - within,
        )
    )


# --- the worker's side -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ClaimedMessage:
    id: int
    lease_token: str
    envelope_from: str
    envelope_to: str
    raw: bytes
    message_id: str
    attempts: int
    target_address_id: int | None
    address_bounces: int = 0


@dataclass(frozen=True)
class Fate:
    """What happened to one claimed message."""

    message: ClaimedMessage
    outcome: str  # "sent", "retry", "failed"
    reply: str
    hard_bounce: bool = False


def claim_due_messages(limit: int, lease: timedelta, now: datetime | None = None) -> list[ClaimedMessage]:
    """Lease up to `limit` due messages to this worker and commit the lease. Honours pauses and pacing."""
    now = now or utcnow()
    recover_expired_leases(now)
    rerouted = and_(TargetAddress.failing.is_(True), TargetAddress.fallback_email.is_not(None))
    query = (
        select(
            OutboundMessage.id,
            OutboundMessage.target_address_id,
            Target.max_per_hour,
            case((rerouted, TargetAddress.fallback_email), else_=OutboundMessage.recipient).label("envelope_to"),
            TargetAddress.consecutive_bounces,
        )
        .outerjoin(TargetAddress, TargetAddress.id == OutboundMessage.target_address_id)
        .outerjoin(Target, Target.id == TargetAddress.target_id)
        .where(OutboundMessage.state.in_(DUE_STATES), OutboundMessage.next_attempt_at <= now)
        .where(
            or_(
                OutboundMessage.target_address_id.is_(None),
                and_(
                    Target.paused.is_(False),
                    or_(TargetAddress.failing.is_(False), TargetAddress.fallback_email.is_not(None)),
                ),
            )
        )
        .order_by(OutboundMessage.next_attempt_at, OutboundMessage.id)
        .limit(limit)
    )
    if db.session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True, of=OutboundMessage)
    candidates = db.session.execute(query).all()
    allowed, deferred = _apply_pacing(candidates, now)
    if deferred:
        db.session.execute(
            update(_outbox)
            .where(_outbox.c.id == bindparam("mid"), or_(_outbox.c.state == "pending", _outbox.c.state == "retry"))
            .values(next_attempt_at=bindparam("when")),
            [{"mid": mid, "when": when} for mid, when in deferred.items()],
        )
    claimed: list[ClaimedMessage] = []
    if allowed:
        token = secrets.token_hex(16)
        # Compare-and-set: only rows still due are leased, so two workers can never lease the same row.
        rows = db.session.execute(
            update(_outbox)
            .where(_outbox.c.id.in_(allowed), _outbox.c.state.in_(DUE_STATES))
            .values(
                state="sending",
                lease_token=token,
                lease_expires_at=now + lease,
                attempts=_outbox.c.attempts + 1,
                last_attempt_at=now,
            )
            .returning(_outbox.c.id, _outbox.c.sender, _outbox.c.raw, _outbox.c.message_id, _outbox.c.attempts)
        ).all()
        by_id = {row.id: row for row in candidates}
        claimed = [
            ClaimedMessage(
                id=r.id,
                lease_token=token,
                envelope_from=r.sender,
                envelope_to=by_id[r.id].envelope_to,
                raw=bytes(r.raw),
                message_id=r.message_id,
                attempts=r.attempts,
                target_address_id=by_id[r.id].target_address_id,
                address_bounces=by_id[r.id].consecutive_bounces or 0,
            )
            for r in sorted(rows, key=lambda r: allowed.index(r.id))
        ]
    db.session.commit()
    return claimed


def recover_expired_leases(now: datetime) -> None:
    """Messages leased by a worker that died are due again; one that keeps killing workers is set aside."""
    max_attempts = current_app.config["MAIL_MAX_ATTEMPTS"]
    expired = and_(_outbox.c.state == "sending", _outbox.c.lease_expires_at < now)
    db.session.execute(
        update(_outbox)
        .where(expired, _outbox.c.attempts >= max_attempts)
        .values(
            state="failed",
            failed_at=now,
            lease_token=None,
            lease_expires_at=None,
            last_reply="set aside: no outcome was recorded after the last attempt (the worker stopped while sending)",
        )
    )
    db.session.execute(
        update(_outbox)
        .where(expired)
        .values(
            state="retry",
            next_attempt_at=now,
            lease_token=None,
            lease_expires_at=None,
            last_reply="the worker stopped while sending; the message is due again",
        )
    )


def _apply_pacing(candidates, now: datetime) -> tuple[list[int], dict[int, datetime]]:
    """Split candidates into those within their address's hourly limit and those that must wait (and until when)."""
    limits = {row.target_address_id: row.max_per_hour for row in candidates if row.target_address_id is not None}
    if not limits:
        return [row.id for row in candidates], {}
    window_start = now - timedelta(hours=1)
    used: dict[int, int] = {}
    oldest: dict[int, datetime | None] = {}
    for address, limit in limits.items():
        # Counted up to the limit only: an address that took 100,000 messages this hour costs no more to check.
        sent = select(OutboundMessage.id).where(
            OutboundMessage.target_address_id == address, OutboundMessage.sent_at > window_start
        )
        leased = select(OutboundMessage.id).where(
            OutboundMessage.state == "sending",
            OutboundMessage.lease_expires_at >= now,
            OutboundMessage.target_address_id == address,
        )
        used[address] = db.session.scalar(
            select(func.count()).select_from(sent.limit(limit or 0).subquery())
        ) + db.session.scalar(select(func.count()).select_from(leased.subquery()))
        oldest[address] = None
        if used[address] >= (limit or 0):
            oldest[address] = db.session.scalar(
                select(func.min(OutboundMessage.sent_at)).where(
                    OutboundMessage.target_address_id == address, OutboundMessage.sent_at > window_start
                )
            )
    allowed: list[int] = []
    deferred: dict[int, datetime] = {}
    for row in candidates:
        address = row.target_address_id
        if address is None:
            allowed.append(row.id)
            continue
        if used.get(address, 0) < (limits[address] or 0):
            used[address] = used.get(address, 0) + 1
            allowed.append(row.id)
        else:
            first = oldest.get(address)
            # The window frees up an hour after its oldest message (or after the ones claimed just now).
            wait_until = (first or now) + timedelta(hours=1)
            deferred[row.id] = max(wait_until, now + timedelta(seconds=30))
    return allowed, deferred


def backoff(attempts: int) -> timedelta:
    """Exponential backoff with jitter: 1, 2, 4, ... minutes, capped, so that retries do not stampede."""
    base = current_app.config["MAIL_RETRY_BASE_SECONDS"]
    cap = current_app.config["MAIL_RETRY_MAX_SECONDS"]
    delay = min(cap, base * (2 ** max(0, attempts - 1)))
    return timedelta(seconds=delay * random.uniform(0.8, 1.2))  # noqa: S311 - jitter, not security


def record_fates(fates: list[Fate], now: datetime | None = None) -> None:
    """Write each message's fate (only while this worker still holds its lease) and commit."""
    if not fates:
        return
    now = now or utcnow()
    max_attempts = current_app.config["MAIL_MAX_ATTEMPTS"]
    params = []
    for fate in fates:
        attempts = fate.message.attempts  # counted when the message was claimed
        outcome = fate.outcome
        if outcome == "retry" and attempts >= max_attempts:
            outcome = "failed"
        params.append(
            {
                "mid": fate.message.id,
                "token": fate.message.lease_token,
                "b_state": outcome,
                "b_reply": fate.reply[:2000],
                "b_delivered_to": fate.message.envelope_to,
                "b_sent_at": now if outcome == "sent" else None,
                "b_failed_at": now if outcome == "failed" else None,
                "b_next_at": now + backoff(attempts) if outcome == "retry" else now,
            }
        )
    db.session.execute(
        update(_outbox)
        .where(_outbox.c.id == bindparam("mid"), _outbox.c.lease_token == bindparam("token"))
        .values(
            state=bindparam("b_state"),
            last_reply=bindparam("b_reply"),
            delivered_to=bindparam("b_delivered_to"),
            sent_at=bindparam("b_sent_at"),
            failed_at=bindparam("b_failed_at"),
            next_attempt_at=bindparam("b_next_at"),
            lease_token=None,
            lease_expires_at=None,
        ),
        params,
    )
    _record_bounces(fates)
    db.session.commit()


def _record_bounces(fates: list[Fate]) -> None:
    threshold = current_app.config["MAIL_BOUNCES_BEFORE_FAILING"]
    bounced = [f.message.target_address_id for f in fates if f.hard_bounce and f.message.target_address_id]
    # Only addresses that had bounced before need their count reset (most never bounce: no write at all).
    delivered = {
        f.message.target_address_id for f in fates if f.outcome == "sent" and f.message.address_bounces
    }
    for address_id in bounced:
        db.session.execute(
            update(TargetAddress)
            .where(TargetAddress.id == address_id)
            .values(
                consecutive_bounces=TargetAddress.consecutive_bounces + 1,
                failing=TargetAddress.failing | (TargetAddress.consecutive_bounces + 1 >= threshold),
            )
        )
    if delivered - set(bounced):
        db.session.execute(
            update(TargetAddress)
            .where(TargetAddress.id.in_(delivered - set(bounced)), TargetAddress.consecutive_bounces > 0)
            .values(consecutive_bounces=0)
        )


def renew_leases(messages: list[ClaimedMessage], lease: timedelta, now: datetime | None = None) -> list[ClaimedMessage]:
    """Extend this worker's lease on messages it has yet to send (and commit); returns those it still holds."""
    if not messages:
        return []
    now = now or utcnow()
    ids = [m.id for m in messages]
    held = set(
        db.session.scalars(
            update(_outbox)
            .where(
                _outbox.c.id.in_(ids),
                _outbox.c.lease_token == messages[0].lease_token,
                _outbox.c.state == "sending",
            )
            .values(lease_expires_at=now + lease)
            .returning(_outbox.c.id)
        )
    )
    db.session.commit()
    return [m for m in messages if m.id in held]


def release_leases(messages: list[ClaimedMessage]) -> None:
    """Give back messages a stopping worker did not try, so the next worker need not wait for the lease."""
    if not messages:
        return
    db.session.execute(
        update(_outbox)
        .where(_outbox.c.id == bindparam("mid"), _outbox.c.lease_token == bindparam("token"))
        .values(state="retry", lease_token=None, lease_expires_at=None, attempts=_outbox.c.attempts - 1),
        [{"mid": m.id, "token": m.lease_token} for m in messages],
    )
    db.session.commit()


@dataclass
class OutboxStatus:
    counts: dict[str, int]
    oldest_due_age: timedelta | None


def outbox_status(now: datetime | None = None) -> OutboxStatus:
    now = now or utcnow()
    counts = dict.fromkeys(("pending", "sending", "sent", "retry", "failed"), 0)
    for state, count in db.session.execute(
        select(OutboundMessage.state, func.count()).group_by(OutboundMessage.state)
    ):
        counts[state] = count
    oldest = db.session.scalar(
        select(func.min(OutboundMessage.created_at)).where(OutboundMessage.state.in_(("pending", "retry", "sending")))
    )
    return OutboxStatus(counts, (now - oldest) if oldest else None)


# --- watching and steering delivery (admin) ---------------------------------------------------------------------


@dataclass
class TargetDelivery:
    target_id: int
    name: str
    case_slug: str
    paused: bool
    addresses: list[TargetAddress]
    counts: dict[str, int]


def delivery_by_target() -> list[TargetDelivery]:
    """Outbox counts per authority, with their addresses' health (failing, bounces, fallback)."""
    from app.cases.models import Case

    rows = db.session.execute(
        select(TargetAddress.target_id, OutboundMessage.state, func.count())
        .join(TargetAddress, TargetAddress.id == OutboundMessage.target_address_id)
        .group_by(TargetAddress.target_id, OutboundMessage.state)
    ).all()
    counts: dict[int, dict[str, int]] = {}
    for target_id, state, count in rows:
        counts.setdefault(target_id, dict.fromkeys(("pending", "sending", "sent", "retry", "failed"), 0))[state] = count
    targets = db.session.execute(select(Target, Case.slug).join(Case, Case.id == Target.case_id).order_by(Case.slug))
    return [
        TargetDelivery(
            target.id,
            target.title or target.name,
            slug,
            target.paused,
            list(target.addresses),
            counts.get(target.id, dict.fromkeys(("pending", "sending", "sent", "retry", "failed"), 0)),
        )
        for target, slug in targets
    ]


def throughput(within: timedelta = timedelta(hours=1), now: datetime | None = None) -> int:
    now = now or utcnow()
    return db.session.scalar(
        select(func.count()).select_from(OutboundMessage).where(OutboundMessage.sent_at > now - within)
    )


def failed_messages(limit: int = 100, before_id: int | None = None) -> list[OutboundMessage]:
    """The most recent failures first, paginated by id."""
    query = select(OutboundMessage).where(OutboundMessage.state == "failed")
    if before_id:
        query = query.where(OutboundMessage.id < before_id)
    return list(db.session.scalars(query.order_by(OutboundMessage.id.desc()).limit(limit)))


def retry_failed(*, message_id: int | None = None, target_id: int | None = None, now: datetime | None = None) -> int:
    """Put failed messages back in the queue (one, or all of one authority's); their Message-ID is kept."""
    now = now or utcnow()
    query = update(_outbox).where(_outbox.c.state == "failed")
    if message_id is not None:
        query = query.where(_outbox.c.id == message_id)
    elif target_id is not None:
        addresses = select(TargetAddress.id).where(TargetAddress.target_id == target_id)
        query = query.where(_outbox.c.target_address_id.in_(addresses))
    else:
        raise ValueError("name a message or a target")
    # Withdrawn letters (the supporter asked for erasure) have no body left and are never retried.
    query = query.where(_outbox.c.raw != b"")
    return db.session.execute(
        query.values(state="retry", attempts=0, next_attempt_at=now, failed_at=None)
    ).rowcount


def set_target_paused(target_id: int, paused: bool) -> Target:
    target = db.session.get(Target, target_id)
    if target is None:
        raise LookupError(target_id)
    target.paused = paused
    db.session.flush()
    return target


def set_fallback_address(address: str, fallback: str | None) -> TargetAddress:
    """Route an authority address's mail to a fallback (queued messages included), or stop doing so."""
    row = db.session.scalar(select(TargetAddress).where(TargetAddress.email == address))
    if row is None:
        raise LookupError(f"no authority address {address!r} (see flask mail targets)")
    if fallback:
        try:
            fallback = accepted_address(fallback)
        except AddressError as error:
            if error.code == "non_ascii_mailbox":
                raise ValueError(f"{fallback!r} has a mailbox name that many servers cannot deliver to") from None
            raise ValueError(f"{fallback!r} is not an email address") from None
    row.fallback_email = fallback or None
    # With a fallback, it takes over; without one, the address is treated as repaired and tried again.
    row.failing = bool(fallback)
    if not fallback:
        row.consecutive_bounces = 0
    db.session.flush()
    return row
