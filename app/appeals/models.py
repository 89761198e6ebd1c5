"""Appeals: a supporter's letter to a case's authorities, and what became of it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.cases.models import Case, TargetAddress
from app.extensions import db
from app.models_base import UTCDateTime, utcnow

APPEAL_STATES = ("unconfirmed", "confirmed", "expired", "held")


class Appeal(db.Model):
    """One supporter's appeal on one case. Queued for the authorities only once its address is confirmed.

    `held` appeals looked automated (honeypot, too fast) and wait for a moderator instead of the queue.
    """

    __tablename__ = "appeals"
    __table_args__ = (
        # One appeal per person and case: a second one is refused, never sent twice. Held submissions (a bot trap
        # caught them) stand apart, so that a trap filled with someone's address never replaces or blocks theirs.
        Index(
            "ux_appeals_one_per_supporter",
            "case_id",
            "email_digest",
            unique=True,
            postgresql_where=text("state <> 'held'"),
            sqlite_where=text("state <> 'held'"),
        ),
        CheckConstraint("state IN ('unconfirmed', 'confirmed', 'expired', 'held')", name="state"),
        Index("ix_appeals_state_expires_at", "state", "expires_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # The appeal's name in links (confirmation, delivery status); random, so ids cannot be guessed.
    public_id: Mapped[str] = mapped_column(String(32), unique=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    email: Mapped[str] = mapped_column(String(320))
    # A keyed hash of the normalised address: finds duplicates without comparing raw addresses.
    email_digest: Mapped[str] = mapped_column(String(64), index=True)
    country: Mapped[str] = mapped_column(String(2))
    locale: Mapped[str] = mapped_column(String(16))  # the supporter's language (emails to them use it)
    letter_language: Mapped[str] = mapped_column(String(16))  # the language of the letter sent
    subject: Mapped[str] = mapped_column(String(200))
    letter: Mapped[str] = mapped_column(Text)
    consent_share: Mapped[bool] = mapped_column(Boolean, default=False)  # name and country go to the authority
    consent_reply: Mapped[bool] = mapped_column(Boolean, default=False)  # Reply-To: the supporter's address
    consent_updates: Mapped[bool] = mapped_column(Boolean, default=False)  # hear about the case's progress
    state: Mapped[str] = mapped_column(String(16), default="unconfirmed")
    # Rises with every submission that rewrites an unconfirmed appeal: a confirmation link names the revision it
    # was sent for, so an older link can never send a newer (perhaps someone else's) text.
    revision: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Set when the name, address and letter were erased (retention period, or the supporter's request).
    erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    case: Mapped[Case] = relationship()


class DigestEntry(db.Model):
    """An appeal waiting for (or included in) the daily digest of a target address that prefers one."""

    __tablename__ = "digest_entries"
    __table_args__ = (
        UniqueConstraint("appeal_id", "target_address_id"),
        Index("ix_digest_entries_pending", "target_address_id", "outbound_message_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    appeal_id: Mapped[int] = mapped_column(ForeignKey("appeals.id", ondelete="CASCADE"), index=True)
    target_address_id: Mapped[int] = mapped_column(ForeignKey("target_addresses.id", ondelete="CASCADE"))
    outbound_message_id: Mapped[int | None] = mapped_column(ForeignKey("outbound_messages.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    target_address: Mapped[TargetAddress] = relationship()
