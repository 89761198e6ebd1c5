"""Thin views over the cases service."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, redirect, render_template, request, url_for

from app.cases import services
from app.cases.models import CASE_STATUSES
from app.i18n import country_name, current_locale, localized_blueprint, preferred_locale

bp = localized_blueprint("cases", __name__)
root_bp = Blueprint("root", __name__)


@bp.app_context_processor
def action_links():
    def action_url(endpoint: str, **values) -> str | None:
        """The link to a case action, once the feature that handles it is installed."""
        if endpoint not in current_app.view_functions:
            return None
        return url_for(endpoint, **values)

    return {"action_url": action_url}


@root_bp.get("/")
def index():
    """Send the visitor to the home page in their language (remembered choice, then the browser's)."""
    response = redirect(url_for("cases.home", lang_code=preferred_locale()), code=302)
    response.vary.add("Accept-Language")
    response.vary.add("Cookie")
    return response


@root_bp.get("/healthz")
def health():
    return {"status": "ok"}


@bp.get("/")
def home():
    locale = current_locale()
    active = services.published_cases(status="active")[: current_app.config["HOME_CASE_COUNT"]]
    successes = services.published_cases(status="success")
    return render_template(
        "cases/home.html",
        active_cases=services.case_views(active, locale),
        success_cases=services.case_views(successes, locale),
        campaign_total=services.campaign_total(),
    )


@bp.get("/cases/")
def case_list():
    status = request.args.get("status") or None
    country = (request.args.get("country") or "").upper() or None
    if status not in (None, *CASE_STATUSES):
        status = None
    cases = services.published_cases(status=status, country=country)
    return render_template(
        "cases/list.html",
        cases=services.case_views(cases, current_locale()),
        status=status,
        country=country,
        statuses=CASE_STATUSES,
        countries=sorted(services.published_countries(), key=country_name),
    )


@bp.get("/success-stories/")
def success_stories():
    cases = services.published_cases(status="success")
    return render_template("cases/success.html", cases=services.case_views(cases, current_locale()))


@bp.get("/cases/<slug>/")
def case_detail(slug: str):
    try:
        case = services.get_published_case(slug)
    except services.CaseNotFound:
        abort(404)
    return render_template("cases/detail.html", view=services.case_view(case, current_locale()))


@bp.get("/privacy/")
def privacy():
    """What we keep about supporters, and for how long."""
    return render_template(
        "cases/privacy.html",
        retention_days=current_app.config["PRIVACY_RETENTION_DAYS"],
        confirm_hours=current_app.config["APPEAL_CONFIRM_HOURS"],
    )
