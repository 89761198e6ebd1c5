"""The audit trail of moderation: who decided what, when and why, with the original text of a redaction."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.admin.models import User
from app.cases.models import Case
from app.extensions import db
from app.mail.models import OutboundMessage
from app.models_base import UTCDateTime, utcnow


class ModerationEvent(db.Model):
    __tablename__ = "moderation_events"
    __table_args__ = (Index("ix_moderation_events_letter", "letter_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    letter_id: Mapped[int] = mapped_column(ForeignKey("solidarity_letters.id", ondelete="CASCADE"))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(String(16))  # "approve", "reject", "redact"
    reason: Mapped[str] = mapped_column(String(500), default="")
    original_text: Mapped[str | None] = mapped_column(Text)  # before a redaction
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    actor: Mapped[User | None] = relationship()


class Bundle(db.Model):
    """Approved messages of hope forwarded together (a printable PDF, emailed to the case's contact if it has one)."""

    __tablename__ = "bundles"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    letter_count: Mapped[int] = mapped_column(default=0)
    pdf: Mapped[bytes] = mapped_column(LargeBinary, default=b"")
    sent_to: Mapped[str | None] = mapped_column(String(320))
    outbound_message_id: Mapped[int | None] = mapped_column(ForeignKey("outbound_messages.id", ondelete="SET NULL"))

    case: Mapped[Case] = relationship()
    created_by: Mapped[User | None] = relationship()
    outbound_message: Mapped[OutboundMessage | None] = relationship()
