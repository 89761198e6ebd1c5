"""The record that a supporter's data was erased (kept without the data itself)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models_base import UTCDateTime, utcnow


class ErasureRecord(db.Model):
    """One erasure: on a supporter's request (`request`) or by the retention policy (`retention`)."""

    __tablename__ = "erasure_records"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # "request" or "retention"
    performed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    performed_by: Mapped[str] = mapped_column(String(200), default="")
    # Which address, as a keyed hash: proves the request was honoured without keeping the address.
    subject_digest: Mapped[str | None] = mapped_column(String(64))
    items_erased: Mapped[int] = mapped_column(Integer, default=0)
    note: Mapped[str] = mapped_column(String(500), default="")
