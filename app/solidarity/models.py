"""Messages of hope to the people at risk, read by the team before anything is passed on."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.cases.models import Case
from app.extensions import db
from app.models_base import UTCDateTime, utcnow

LETTER_STATES = ("pending", "approved", "rejected")


class SolidarityLetter(db.Model):
    __tablename__ = "solidarity_letters"
    __table_args__ = (
        CheckConstraint("state IN ('pending', 'approved', 'rejected')", name="state"),
        # The moderation queue and the public wall walk these in order, by key.
        Index("ix_solidarity_letters_queue", "state", "created_at", "id"),
        Index("ix_solidarity_letters_case_state", "case_id", "state", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    first_name: Mapped[str] = mapped_column(String(60))  # or "" for anonymous
    country: Mapped[str] = mapped_column(String(2))
    language: Mapped[str] = mapped_column(String(16))  # the language the message is written in
    message: Mapped[str] = mapped_column(Text)
    # Automatic flags for the moderator (never a decision): "link", "email", "phone", "long", "automated", ...
    flags: Mapped[str] = mapped_column(String(200), default="")
    state: Mapped[str] = mapped_column(String(16), default="pending")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The bundle it was forwarded in: set once, by one UPDATE, so a letter is never forwarded twice.
    bundle_id: Mapped[int | None] = mapped_column(ForeignKey("bundles.id", ondelete="SET NULL"), index=True)

    case: Mapped[Case] = relationship()

    @property
    def flag_list(self) -> list[str]:
        return [f for f in self.flags.split(",") if f]
