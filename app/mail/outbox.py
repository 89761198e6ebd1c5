"""The outbox, as producers see it: queue a message in the caller's transaction, and withdraw or blank the
messages of erased supporters. Nobody else writes the outbox's rows (the worker goes through app.mail.queue).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from email.errors import MessageError

from sqlalchemy import func, select, update

from app.addresses import AddressError, address_digest
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
from app.mail.models import FINISHED_STATES, WAITING_STATES, MessageState, OutboundMessage
from app.models_base import utcnow

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
        state=MessageState.PENDING,
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
        row.state, row.failed_at, row.raw = MessageState.FAILED, now, b""
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


def withdraw(appeal_ids: list[int], reason: str, now: datetime | None = None) -> int:
    """Messages of these appeals not yet sent will never be: `failed` with `reason` (a supporter's erasure)."""
    now = now or utcnow()
    return db.session.execute(
        update(OutboundMessage)
        .where(OutboundMessage.appeal_id.in_(appeal_ids), OutboundMessage.state.in_(WAITING_STATES))
        .values(state=MessageState.FAILED, failed_at=now, last_reply=reason, lease_token=None, lease_expires_at=None)
        .execution_options(synchronize_session=False)
    ).rowcount


def blank_personal_data(appeal_ids: list[int], supporter_kinds: tuple[str, ...]) -> None:
    """Erase what these appeals' messages say (their text) and, for messages addressed to the supporter (of
    `supporter_kinds`), to whom they went. The rows stay, with their state and dates, so that figures hold."""
    db.session.execute(
        update(OutboundMessage)
        .where(OutboundMessage.appeal_id.in_(appeal_ids))
        .values(raw=b"")
        .execution_options(synchronize_session=False)
    )
    db.session.execute(
        update(OutboundMessage)
        .where(OutboundMessage.appeal_id.in_(appeal_ids), OutboundMessage.kind.in_(supporter_kinds))
        .values(recipient="", recipient_digest=None, delivered_to=None)
        .execution_options(synchronize_session=False)
    )


def blank_finished(kind: str, before: datetime) -> None:
    """Erase the text of finished (sent or failed) messages of `kind` queued before `before` (retention)."""
    db.session.execute(
        update(OutboundMessage)
        .where(
            OutboundMessage.kind == kind,
            OutboundMessage.state.in_(FINISHED_STATES),
            OutboundMessage.created_at < before,
            OutboundMessage.raw != b"",
        )
        .values(raw=b"")
        .execution_options(synchronize_session=False)
    )
