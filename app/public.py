"""What the public forms' views share: the case a page belongs to (or a 404) and the forms' rate limit."""

from __future__ import annotations

from flask import abort, current_app

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
