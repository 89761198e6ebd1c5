"""CSV exports, produced row by row from server-side cursors so that a million rows never sit in memory.

Every cell a spreadsheet could read as a formula (`=`, `+`, `-`, `@`, tab, carriage return at the start) is
prefixed with an apostrophe, so a supporter named `=HYPERLINK(...)` stays text (OWASP "CSV injection").
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator

from sqlalchemy import func, select

from app.appeals.models import Appeal
from app.cases.models import Case
from app.extensions import db
from app.staff.services import record_admin_action

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\n")
YIELD_PER = 5000


def safe_cell(value) -> str:
    if value is None:
        return ""
    text = str(value)
    if text.startswith(FORMULA_TRIGGERS):
        return "'" + text
    return text


def csv_lines(header: list[str], rows: Iterable[Iterable]) -> Iterator[str]:
    """The CSV text, one line at a time."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    yield buffer.getvalue()
    for row in rows:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow([safe_cell(cell) for cell in row])
        yield buffer.getvalue()


def appeal_counts_rows() -> Iterator[tuple]:
    """Confirmed appeals per case, supporter country and day."""
    day = func.date(Appeal.confirmed_at)  # UTC days, on both databases
    query = (
        select(Case.slug, Appeal.country, day.label("day"), func.count())
        .join(Case, Case.id == Appeal.case_id)
        .where(Appeal.state == "confirmed")
        .group_by(Case.slug, Appeal.country, day)
        .order_by(Case.slug, day, Appeal.country)
        .execution_options(yield_per=YIELD_PER)
    )
    with db.session.execute(query) as result:  # closes the server-side cursor even if the reader stops early
        for slug, country, when, count in result:
            yield slug, country, str(when), count


APPEAL_COUNTS_HEADER = ["case", "country", "day", "appeals"]


def opted_in_supporters_rows() -> Iterator[tuple]:
    """Supporters who asked to hear about a case's progress (confirmed appeals only), one row per case."""
    query = (
        select(Appeal.name, Appeal.email, Appeal.country, Appeal.locale, Case.slug, Appeal.confirmed_at)
        .join(Case, Case.id == Appeal.case_id)
        .where(Appeal.state == "confirmed", Appeal.consent_updates.is_(True), Appeal.email != "")
        .order_by(Appeal.id)
        .execution_options(yield_per=YIELD_PER)
    )
    with db.session.execute(query) as result:
        for name, email, country, locale, slug, confirmed_at in result:
            yield name, email, country, locale, slug, confirmed_at.isoformat() if confirmed_at else ""


SUPPORTERS_HEADER = ["name", "email", "country", "language", "case", "confirmed_at"]

EXPORTS = {
    "appeals": (APPEAL_COUNTS_HEADER, appeal_counts_rows),
    "supporters": (SUPPORTERS_HEADER, opted_in_supporters_rows),
}


def export_lines(name: str) -> Iterator[str]:
    header, rows = EXPORTS[name]
    return csv_lines(header, rows())


def export_size(name: str) -> int:
    """How many rows an export will have (for a progress bar)."""
    query = {
        "appeals": select(func.count()).select_from(
            select(Appeal.case_id, Appeal.country, func.date(Appeal.confirmed_at))
            .where(Appeal.state == "confirmed")
            .group_by(Appeal.case_id, Appeal.country, func.date(Appeal.confirmed_at))
            .subquery()
        ),
        "supporters": select(func.count())
        .select_from(Appeal)
        .where(Appeal.state == "confirmed", Appeal.consent_updates.is_(True), Appeal.email != ""),
    }[name]
    return db.session.scalar(query) or 0


class CsvExport:
    """What an audit row about a download points at: an export, by name (there is no database row to point at)."""

    id = None

    def __init__(self, name: str) -> None:
        self.name = name


def record_download(actor, name: str) -> int:
    """Put a download of personal data in the admins' audit trail, with how many rows left; the caller commits."""

    size = export_size(name)
    record_admin_action(actor, f"download {name} export", CsvExport(name), f"{size} rows")
    db.session.flush()
    return size
