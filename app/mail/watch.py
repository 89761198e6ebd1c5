"""Watching delivery (operators and admins): counts by state and per authority, throughput, failures, retries."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select, update

from app.cases.models import Case, Target, TargetAddress
from app.extensions import db
from app.mail.models import WAITING_STATES, MessageState, OutboundMessage
from app.models_base import utcnow

_outbox = OutboundMessage.__table__


@dataclass
class OutboxStatus:
    counts: dict[str, int]
    oldest_due_age: timedelta | None


def outbox_status(now: datetime | None = None) -> OutboxStatus:
    now = now or utcnow()
    counts = dict.fromkeys(MessageState, 0)
    for state, count in db.session.execute(select(OutboundMessage.state, func.count()).group_by(OutboundMessage.state)):
        counts[state] = count
    oldest = db.session.scalar(
        select(func.min(OutboundMessage.created_at)).where(OutboundMessage.state.in_(WAITING_STATES))
    )
    return OutboxStatus(counts, (now - oldest) if oldest else None)


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
    rows = db.session.execute(
        select(TargetAddress.target_id, OutboundMessage.state, func.count())
        .join(TargetAddress, TargetAddress.id == OutboundMessage.target_address_id)
        .group_by(TargetAddress.target_id, OutboundMessage.state)
    ).all()
    counts: dict[int, dict[str, int]] = {}
    for target_id, state, count in rows:
        counts.setdefault(target_id, dict.fromkeys(MessageState, 0))[state] = count
    targets = db.session.execute(select(Target, Case.slug).join(Case, Case.id == Target.case_id).order_by(Case.slug))
    return [
        TargetDelivery(
            target.id,
            target.title or target.name,
            slug,
            target.paused,
            list(target.addresses),
            counts.get(target.id, dict.fromkeys(MessageState, 0)),
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
    query = select(OutboundMessage).where(OutboundMessage.state == MessageState.FAILED)
    if before_id:
        query = query.where(OutboundMessage.id < before_id)
    return list(db.session.scalars(query.order_by(OutboundMessage.id.desc()).limit(limit)))


def retry_failed(*, message_id: int | None = None, target_id: int | None = None, now: datetime | None = None) -> int:
    """Put failed messages back in the queue (one, or all of one authority's); their Message-ID is kept."""
    now = now or utcnow()
    query = update(_outbox).where(_outbox.c.state == MessageState.FAILED)
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
        query.values(state=MessageState.RETRY, attempts=0, next_attempt_at=now, failed_at=None)
    ).rowcount
