"""Reports of letters written on paper at events (schools, groups, street stalls), counted once approved."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, CheckConstraint, Date, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.cases.models import Case
from app.extensions import db
from app.models_base import UTCDateTime, utcnow
from app.staff.models import User

REPORT_STATES = ("pending", "approved", "rejected")
EVENT_KINDS = ("school", "group", "street_stall", "other")
MAX_LETTERS = 100_000  # one event's report: more is a typing mistake, not a school afternoon


class PaperReport(db.Model):
    __tablename__ = "paper_reports"
    __table_args__ = (
        CheckConstraint("state IN ('pending', 'approved', 'rejected')", name="state"),
        CheckConstraint("event_kind IN ('school', 'group', 'street_stall', 'other')", name="event_kind"),
        CheckConstraint("letters > 0 AND letters <= 100000", name="letters"),
        # The staff page lists pending reports first, oldest first.
        Index("ix_paper_reports_queue", "state", "created_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    event_name: Mapped[str] = mapped_column(String(120))
    event_kind: Mapped[str] = mapped_column(String(16))
    event_date: Mapped[date] = mapped_column(Date)
    place: Mapped[str] = mapped_column(String(120), default="")  # town or place, optional
    country: Mapped[str] = mapped_column(String(2))
    letters: Mapped[int] = mapped_column(Integer)
    # Personal data, blanked by `flask privacy purge` / `erase` (see services.erase_paper_reports).
    organiser_name: Mapped[str] = mapped_column(String(100), default="")
    organiser_email: Mapped[str] = mapped_column(String(254), default="")
    email_digest: Mapped[str | None] = mapped_column(String(64), index=True)  # keyed hash, to erase on request
    erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The honeypot or the fill time suggested a script: shown to the reviewer, never a decision.
    looks_automated: Mapped[bool] = mapped_column(Boolean, default=False)
    state: Mapped[str] = mapped_column(String(16), default="pending")
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decision_reason: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    case: Mapped[Case] = relationship()
    decided_by: Mapped[User | None] = relationship()
