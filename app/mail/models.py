"""The outbox: one row per outgoing email, written in the transaction of the change that causes it.

States: `pending` (due at `next_attempt_at`) -> `sending` (leased by one worker until `lease_expires_at`) ->
`sent` | `retry` (due again at `next_attempt_at`, with exponential backoff) | `failed` (permanent; the reply is kept).
A lease that expires (the worker died) makes the row due again for the next worker.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, Integer, LargeBinary, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models_base import UTCDateTime, utcnow


class MessageState(StrEnum):
    """Where a message is (see the module's docstring); a `StrEnum`, so it compares and stores as its text."""

    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    RETRY = "retry"
    FAILED = "failed"


DUE_STATES = (MessageState.PENDING, MessageState.RETRY)  # the worker may claim these
WAITING_STATES = (MessageState.PENDING, MessageState.RETRY, MessageState.SENDING)  # not sent yet
FINISHED_STATES = (MessageState.SENT, MessageState.FAILED)


class OutboundMessage(db.Model):
    __tablename__ = "outbound_messages"
    __table_args__ = (
        CheckConstraint("state IN ('pending', 'sending', 'sent', 'retry', 'failed')", name="state"),
        # The worker's claim walks waiting rows in due order; sent and failed rows (the vast majority) stay out.
        Index(
            "ix_outbound_messages_due",
            "next_attempt_at",
            "id",
            postgresql_where=text("state IN ('pending', 'retry')"),
            sqlite_where=text("state IN ('pending', 'retry')"),
        ),
        # Finding leases to recover: few rows are ever `sending`.
        Index(
            "ix_outbound_messages_leased",
            "lease_expires_at",
            postgresql_where=text("state = 'sending'"),
            sqlite_where=text("state = 'sending'"),
        ),
        # Pacing: how many went to one address in the last hour.
        Index("ix_outbound_messages_pacing", "target_address_id", "sent_at"),
        # Per-recipient limits on confirmation emails, counted on the normalised address.
        Index("ix_outbound_messages_recipient_digest", "recipient_digest", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16), default=MessageState.PENDING)
    # Fixed when queued and kept on every retry, so that a receiver can drop a duplicate.
    message_id: Mapped[str] = mapped_column(String(255), unique=True)
    sender: Mapped[str] = mapped_column(String(320))
    recipient: Mapped[str] = mapped_column(String(320))
    # A keyed hash of the normalised recipient (app.addresses): limits and erasure find every spelling of an address.
    recipient_digest: Mapped[str | None] = mapped_column(String(64))
    subject: Mapped[str] = mapped_column(String(300), default="")
    # The composed message (headers and body) without `To:`, which the worker adds for the address it delivers to.
    raw: Mapped[bytes] = mapped_column(LargeBinary)
    target_address_id: Mapped[int | None] = mapped_column(ForeignKey("target_addresses.id", ondelete="SET NULL"))
    appeal_id: Mapped[int | None] = mapped_column(ForeignKey("appeals.id", ondelete="SET NULL"), index=True)

    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    lease_token: Mapped[str | None] = mapped_column(String(64))
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_reply: Mapped[str | None] = mapped_column(Text)
    # The envelope recipient of the last attempt (differs from `recipient` when a fallback address took over).
    delivered_to: Mapped[str | None] = mapped_column(String(320))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    failed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    def __repr__(self) -> str:
        return f"<OutboundMessage {self.id} {self.kind} {self.state}>"
