"""The audit trail of moderation: who decided what, when and why, with the original text of a redaction."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, Index, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.cases.models import Case
from app.extensions import db
from app.mail.models import OutboundMessage
from app.models_base import UTCDateTime, utcnow
from app.staff.models import User


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


class BundleState(StrEnum):
    """A bundle's life: its letters are claimed at once (`rendering`); the mail worker's housekeeping then builds its
    PDF and queues its email in one transaction (`ready`), or records why it could not (`failed`, retried by staff)."""

    RENDERING = "rendering"
    READY = "ready"
    FAILED = "failed"


class BundleFailure(StrEnum):
    """Why a bundle could not be built (staff read words for these, see labels.BUNDLE_FAILURE_LABELS)."""

    CONTACT_REFUSED = "contact_refused"  # the case's contact address cannot receive email: fix it, then retry
    RENDER_ERROR = "render_error"  # building the PDF raised (the detail says what)
    WORKER_STOPPED = "worker_stopped"  # rendering stopped its worker (killed, out of memory) every time it was tried


class Bundle(db.Model):
    """Approved messages of hope forwarded together (a printable PDF, emailed to the case's contact if it has one)."""

    __tablename__ = "bundles"
    __table_args__ = (CheckConstraint("state IN ('rendering', 'ready', 'failed')", name="state"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    letter_count: Mapped[int] = mapped_column(default=0)
    state: Mapped[str] = mapped_column(String(16), default=BundleState.RENDERING)
    # The language of the PDF's cover and of the email (the moderator's when the bundle was created).
    locale: Mapped[str] = mapped_column(String(16), default="en")
    pdf: Mapped[bytes | None] = mapped_column(LargeBinary)  # None until the bundle is ready
    rendered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Each render is counted before it starts and leased, so that a render that kills its worker is tried again by
    # the next one after the lease, and set aside (failed) after BUNDLE_RENDER_MAX_ATTEMPTS.
    render_attempts: Mapped[int] = mapped_column(default=0)
    render_lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    failure: Mapped[str | None] = mapped_column(String(32))  # a BundleFailure code
    failure_detail: Mapped[str] = mapped_column(String(500), default="")
    sent_to: Mapped[str | None] = mapped_column(String(320))
    outbound_message_id: Mapped[int | None] = mapped_column(ForeignKey("outbound_messages.id", ondelete="SET NULL"))

    case: Mapped[Case] = relationship()
    created_by: Mapped[User | None] = relationship()
    outbound_message: Mapped[OutboundMessage | None] = relationship()
