"""The worker's side of the outbox: claim due messages under a lease, renew it, record each message's fate.

Claims are safe with several workers on several machines: on PostgreSQL with `FOR UPDATE SKIP LOCKED`, and on
every database with a compare-and-set on the row's state and lease token, so a row is leased by one worker at a time.
"""

from __future__ import annotations

import random
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import and_, bindparam, case, func, or_, select, update

from app.cases.models import Target, TargetAddress
from app.extensions import db
from app.mail.models import DUE_STATES, MessageState, OutboundMessage
from app.models_base import utcnow

_outbox = OutboundMessage.__table__  # bulk updates go through Core: one statement, many rows


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
    outcome: MessageState  # SENT, RETRY or FAILED
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
            .where(
                _outbox.c.id == bindparam("mid"),
                # Spelled out: an expanding IN cannot take part in a statement executed for many rows.
                or_(_outbox.c.state == MessageState.PENDING, _outbox.c.state == MessageState.RETRY),
            )
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
                state=MessageState.SENDING,
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
    expired = and_(_outbox.c.state == MessageState.SENDING, _outbox.c.lease_expires_at < now)
    db.session.execute(
        update(_outbox)
        .where(expired, _outbox.c.attempts >= max_attempts)
        .values(
            state=MessageState.FAILED,
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
            state=MessageState.RETRY,
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
            OutboundMessage.state == MessageState.SENDING,
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
        if outcome == MessageState.RETRY and attempts >= max_attempts:
            outcome = MessageState.FAILED
        params.append(
            {
                "mid": fate.message.id,
                "token": fate.message.lease_token,
                "b_state": outcome,
                "b_reply": fate.reply[:2000],
                "b_delivered_to": fate.message.envelope_to,
                "b_sent_at": now if outcome == MessageState.SENT else None,
                "b_failed_at": now if outcome == MessageState.FAILED else None,
                "b_next_at": now + backoff(attempts) if outcome == MessageState.RETRY else now,
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
        f.message.target_address_id for f in fates if f.outcome == MessageState.SENT and f.message.address_bounces
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
                _outbox.c.state == MessageState.SENDING,
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
        .values(state=MessageState.RETRY, lease_token=None, lease_expires_at=None, attempts=_outbox.c.attempts - 1),
        [{"mid": m.id, "token": m.lease_token} for m in messages],
    )
    db.session.commit()
