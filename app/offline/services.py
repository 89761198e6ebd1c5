"""Paper letters written at events: reports from organisers, decisions by staff, the case's "offline" counter.

A report counts only once approved: the approval and the addition to the counter happen in one transaction, and a
conditional UPDATE (`state = 'pending'`) lets exactly one of two simultaneous approvals through.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import joinedload

from app.addresses import address_digest
from app.cases.models import Case
from app.cases.services import record_action
from app.extensions import db
from app.models_base import utcnow
from app.offline.models import EVENT_KINDS, MAX_LETTERS, PaperReport
from app.staff.models import User
from app.staff.services import record_admin_action

ACTIONS = ("approve", "reject")
REASON_MAX_CHARS = 500


class ReportError(ValueError):
    """A report or decision that cannot be made. The argument is a code the view puts into words."""

    @property
    def code(self) -> str:
        return self.args[0] if self.args else "invalid"


class CaseClosed(ReportError):
    pass


class AlreadyDecided(ReportError):
    pass


@dataclass
class ReportInput:
    event_name: str
    event_kind: str
    event_date: date
    country: str
    letters: int
    organiser_name: str
    organiser_email: str = ""
    place: str = ""


def _new_report(case: Case, data: ReportInput, *, automated: bool = False) -> PaperReport:
    if data.event_kind not in EVENT_KINDS:
        raise ReportError("unknown_kind")
    if not 0 < data.letters <= MAX_LETTERS:
        raise ReportError("letters_out_of_range")
    email = (data.organiser_email or "").strip()
    return PaperReport(
        case_id=case.id,
        event_name=data.event_name,
        event_kind=data.event_kind,
        event_date=data.event_date,
        place=data.place or "",
        country=data.country,
        letters=data.letters,
        organiser_name=data.organiser_name,
        organiser_email=email,
        email_digest=address_digest(email) if email else None,
        looks_automated=automated,
        state="pending",
        created_at=utcnow(),
    )


def submit_report(case: Case, data: ReportInput, *, automated: bool = False) -> PaperReport:
    """An organiser's report, waiting for a staff decision; it does not count yet (flushes; the caller commits)."""
    if not case.published or case.status != "active":
        raise CaseClosed("case_closed")
    report = _new_report(case, data, automated=automated)
    db.session.add(report)
    db.session.flush()
    return report


def enter_report(case: Case, data: ReportInput, actor: User) -> PaperReport:
    """An admin's own entry: approved at once, counted and audited in the caller's transaction."""
    report = _new_report(case, data)
    now = utcnow()
    report.state = "approved"
    report.decided_by_id = actor.id
    report.decided_at = now
    db.session.add(report)
    db.session.flush()
    record_action(case.id, "offline", report.letters)
    record_admin_action(actor, "enter paper report", report, _summary(case, report))
    db.session.flush()
    return report


def decide_report(report_id: int, action: str, actor: User, reason: str = "") -> PaperReport:
    """Approve (and count) or reject a pending report, exactly once even when two staff members decide at once.

    The state changes by one conditional UPDATE: on PostgreSQL the second transaction waits for the first's row lock,
    then re-reads the row as decided and updates nothing; on SQLite the database's write lock orders them. Only the
    transaction whose UPDATE changed the row adds to the counter.
    """
    reason = (reason or "").strip()[:REASON_MAX_CHARS]
    if action not in ACTIONS:
        raise ReportError("unknown_action")
    if action == "reject" and not reason:
        raise ReportError("reason_required")
    now = utcnow()
    changed = db.session.execute(
        update(PaperReport)
        .where(PaperReport.id == report_id, PaperReport.state == "pending")
        .values(
            state="approved" if action == "approve" else "rejected",
            decided_by_id=actor.id,
            decided_at=now,
            decision_reason=reason,
        )
        .execution_options(synchronize_session=False)
    ).rowcount
    if changed != 1:
        raise AlreadyDecided("already_decided")
    report = db.session.get(PaperReport, report_id, populate_existing=True)
    if action == "approve":
        record_action(report.case_id, "offline", report.letters)
    details = _summary(report.case, report) + (f"; reason: {reason}" if reason else "")
    record_admin_action(actor, f"{action} paper report", report, details)
    db.session.flush()
    return report


def _summary(case: Case, report: PaperReport) -> str:
    return f"{report.letters} letters for {case.slug} ({report.event_kind}, {report.event_date.isoformat()})"


def reports_for_review(limit: int = 100) -> list[PaperReport]:
    """Pending reports, oldest first."""
    query = (
        select(PaperReport)
        .where(PaperReport.state == "pending")
        .order_by(PaperReport.created_at, PaperReport.id)
        .limit(limit)
        .options(joinedload(PaperReport.case))
    )
    return list(db.session.scalars(query))


def recent_decisions(limit: int = 50) -> list[PaperReport]:
    """The latest decided reports, newest first, with who decided."""
    query = (
        select(PaperReport)
        .where(PaperReport.state != "pending")
        .order_by(PaperReport.decided_at.desc(), PaperReport.id.desc())
        .limit(limit)
        .options(joinedload(PaperReport.case), joinedload(PaperReport.decided_by))
    )
    return list(db.session.scalars(query))


def pending_count(cap: int = 10_000) -> int:
    """Reports waiting for a decision, counted up to `cap` (the queue index answers it)."""
    capped = select(PaperReport.id).where(PaperReport.state == "pending").limit(cap).subquery()
    return db.session.scalar(select(func.count()).select_from(capped))


def oldest_pending_at() -> datetime | None:
    """When the report that has waited longest for a decision arrived."""
    return db.session.scalar(select(func.min(PaperReport.created_at)).where(PaperReport.state == "pending"))


# --- privacy -----------------------------------------------------------------------------------------------------


def erase_paper_reports(digest: str | None, cutoff: datetime | None, now: datetime) -> int:
    """Blank organisers' names and addresses: one person's (by address digest), or every report older than `cutoff`.

    Counts do not move: the report keeps its case, event, date, country and number of letters, and the counter is
    separate. Registered with the privacy erasers in `app.offline.init_app`.
    """
    if digest is not None:
        condition = PaperReport.email_digest == digest
    else:
        condition = func.coalesce(PaperReport.decided_at, PaperReport.created_at) < cutoff
    has_personal_data = or_(
        PaperReport.organiser_name != "", PaperReport.organiser_email != "", PaperReport.email_digest.is_not(None)
    )
    return db.session.execute(
        update(PaperReport)
        .where(condition, has_personal_data)
        .values(organiser_name="", organiser_email="", email_digest=None, erased_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
