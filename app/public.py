"""What the public views share: the case a page belongs to (or a 404), the forms' rate limit, a page's key."""

from __future__ import annotations

from flask import abort, current_app, request

from app.cases import services as cases
from app.cases.models import Case


def published_case_or_404(slug: str, *, active: bool = False) -> Case:
    """A published case (without its timeline); with `active`, only one still open to letters."""
    try:
        case = cases.get_published_case(slug, with_timeline=False)
    except cases.CaseNotFound:
        abort(404)
    if active and case.status != "active":
        abort(404)
    return case


def form_rate_limit() -> str:
    """Flask-Limiter's limit for every public form's POST, per client address (APPEAL_RATE_LIMIT)."""
    return current_app.config["APPEAL_RATE_LIMIT"]


ROW_ID_MAX = 2**31 - 1  # row ids are 32-bit integers on PostgreSQL


def page_key(name: str = "before") -> int | None:
    """The row id a list pages from (`?before=ID`), or None (the first page) when the value is not a positive id a
    row can have: every row is then "before" it, and the database is never asked to compare an impossible value."""
    value = request.args.get(name, type=int)
    return value if value is not None and 0 < value <= ROW_ID_MAX else None
