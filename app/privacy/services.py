"""Erasing personal data, by retention policy or on request, without changing any count.

Counts live in `action_counters` and in rows that keep their case, country and dates: erasing blanks names,
addresses and letters, never deletes what a figure is computed from. Each feature that stores personal data
registers an eraser (see `register_eraser`): a function `(digest | None, cutoff | None, now) -> int` that erases
one person's data (by address digest) or everything older than `cutoff`, and returns how many items it erased.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import select

from app.addresses import address_digest
from app.extensions import db
from app.models_base import utcnow
from app.privacy.models import ErasureRecord

Eraser = Callable[[str | None, datetime | None, datetime], int]


def register_eraser(app, eraser: Eraser) -> None:
    app.extensions.setdefault("inkwell_erasers", []).append(eraser)


def _erasers() -> list[Eraser]:
    return current_app.extensions.get("inkwell_erasers", [])


def retention_cutoff(now: datetime) -> datetime:
    return now - timedelta(days=current_app.config["PRIVACY_RETENTION_DAYS"])


def purge_expired_personal_data(now: datetime | None = None, performed_by: str = "retention policy") -> int:
    """Erase what is older than the retention period; safe to run as often as you like (cron)."""
    now = now or utcnow()
    cutoff = retention_cutoff(now)
    erased = sum(eraser(None, cutoff, now) for eraser in _erasers())
    if erased:
        db.session.add(
            ErasureRecord(
                kind="retention",
                performed_at=now,
                performed_by=performed_by,
                items_erased=erased,
                note=f"older than {cutoff.date().isoformat()}",
            )
        )
    db.session.flush()
    return erased


def erase_supporter(email: str, performed_by: str, now: datetime | None = None) -> ErasureRecord:
    """Erase everything about one address now (a supporter's request), and record that it was done."""
    now = now or utcnow()
    digest = address_digest(email)
    erased = sum(eraser(digest, None, now) for eraser in _erasers())
    record = ErasureRecord(
        kind="request", performed_at=now, performed_by=performed_by, subject_digest=digest, items_erased=erased
    )
    db.session.add(record)
    db.session.flush()
    return record


def recent_erasures(limit: int = 50) -> list[ErasureRecord]:

    return list(db.session.scalars(select(ErasureRecord).order_by(ErasureRecord.id.desc()).limit(limit)))
