"""Figures for the dashboard. Every query is an aggregate over indexed columns or the sharded counters."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import func, select

from app.appeals.models import Appeal
from app.cases.models import Case
from app.cases.services import CaseTotals, totals_for
from app.extensions import db
from app.models_base import utcnow
from app.moderation import services as moderation
from app.offline import services as offline


@dataclass
class CaseFigures:
    case: Case
    totals: CaseTotals


def actions_per_case() -> list[CaseFigures]:
    cases = list(db.session.scalars(select(Case).order_by(Case.status, Case.sort_order, Case.id)))
    totals = totals_for([c.id for c in cases])
    result = []
    for case in cases:
        case_totals = totals.get(case.id) or CaseTotals()
        case_totals.prior = case.prior_actions or 0
        result.append(CaseFigures(case, case_totals))
    return result


def appeals_per_day(days: int = 31, today: date | None = None) -> list[tuple[date, int]]:
    """Confirmed appeals per UTC day over the last `days` days, every day present (zeros included)."""
    today = today or utcnow().date()
    start = today - timedelta(days=days - 1)
    since = datetime.combine(start, datetime.min.time()).replace(tzinfo=utcnow().tzinfo)
    day = func.date(Appeal.confirmed_at)
    rows = db.session.execute(
        select(day, func.count()).where(Appeal.state == "confirmed", Appeal.confirmed_at >= since).group_by(day)
    )
    counts = {date.fromisoformat(str(d)[:10]): n for d, n in rows}
    return [(start + timedelta(days=i), counts.get(start + timedelta(days=i), 0)) for i in range(days)]


def appeals_per_country(limit: int = 20) -> list[tuple[str, int]]:
    rows = db.session.execute(
        select(Appeal.country, func.count())
        .where(Appeal.state == "confirmed")
        .group_by(Appeal.country)
        .order_by(func.count().desc(), Appeal.country)
        .limit(limit)
    )
    return [(country, count) for country, count in rows]


@dataclass
class ConfirmationRate:
    confirmed: int
    waiting: int
    expired: int

    @property
    def rate(self) -> float | None:
        decided = self.confirmed + self.expired
        return self.confirmed / decided if decided else None


def confirmation_rate() -> ConfirmationRate:
    counts = dict(db.session.execute(select(Appeal.state, func.count()).group_by(Appeal.state)).all())
    return ConfirmationRate(counts.get("confirmed", 0), counts.get("unconfirmed", 0), counts.get("expired", 0))


@dataclass
class Backlog:
    """What waits for a moderator: how many (counted up to a cap, from the queue's index) and since when."""

    waiting: int
    oldest_at: datetime | None
    cap: int

    @property
    def more_than_cap(self) -> bool:
        return self.waiting >= self.cap

    def age(self, now: datetime | None = None) -> timedelta | None:
        return (now or utcnow()) - self.oldest_at if self.oldest_at else None


def moderation_backlog(cap: int = 10_000) -> dict[str, Backlog]:
    """Messages of hope and paper reports waiting for a decision, with the age of the oldest of each."""
    return {
        name: Backlog(service.pending_count(cap), service.oldest_pending_at(), cap)
        for name, service in (("messages", moderation), ("paper_reports", offline))
    }


def campaign_totals(rows: list[CaseFigures]) -> CaseTotals:
    total = CaseTotals()
    for row in rows:
        for name in ("appeals", "solidarity", "offline", "prior"):
            setattr(total, name, getattr(total, name) + getattr(row.totals, name))
    return total
