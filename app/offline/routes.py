"""Thin views: the organiser's report form and its thank-you page; the staff page to review and enter reports."""

from __future__ import annotations

from datetime import date

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select

from app.cases.models import Case
from app.extensions import db, limiter
from app.forms import BotTrap
from app.i18n import localized_blueprint
from app.offline import services
from app.offline.forms import EnterReportForm, PaperReportForm, ReportDecisionForm, event_kind_choices
from app.offline.models import MAX_LETTERS
from app.public import form_rate_limit, published_case_or_404
from app.staff.auth import roles_required
from app.text import make_visible

bp = localized_blueprint("offline", __name__)
staff_bp = Blueprint("paper_reports", __name__, url_prefix="/admin/paper-reports")

# What staff read when a decision cannot be made (services raise the codes).
ERRORS = {
    "unknown_action": _l("Choose approve or reject."),
    "reason_required": _l("Please give a reason to reject: it is kept in the audit trail."),
    "already_decided": _l("This report had already been decided by someone else."),
}


def _report_input(form) -> services.ReportInput:
    return services.ReportInput(
        event_name=form.event_name.data,
        event_kind=form.event_kind.data,
        event_date=form.event_date.data,
        place=form.place.data or "",
        country=form.country.data,
        letters=form.letters.data,
        organiser_name=form.organiser_name.data,
        organiser_email=form.organiser_email.data or "",
    )


# --- the organiser's form ----------------------------------------------------------------------------------------


@bp.route("/cases/<slug>/paper-letters/", methods=["GET", "POST"])
@limiter.limit(form_rate_limit, methods=["POST"])
def report(slug: str):
    case = published_case_or_404(slug, active=True)
    form = PaperReportForm()
    if request.method == "GET":
        form.started.data = BotTrap.start_token()
    elif form.validate_on_submit():
        automated = BotTrap.looks_automated(form.website.data, form.started.data)
        try:
            services.submit_report(case, _report_input(form), automated=automated)
        except services.CaseClosed:
            abort(404)
        db.session.commit()
        return redirect(url_for("offline.sent", slug=slug))
    status = 400 if request.method == "POST" else 200
    return render_template(
        "offline/form.html", case=case, form=form, today=date.today().isoformat(), max_letters=MAX_LETTERS
    ), status


@bp.get("/cases/<slug>/paper-letters/sent/")
def sent(slug: str):
    return render_template("offline/sent.html", case=published_case_or_404(slug, active=True))


# --- staff -------------------------------------------------------------------------------------------------------


@staff_bp.context_processor
def report_words():
    return {"visible": make_visible, "event_kinds": dict(event_kind_choices())}


def _staff_page(entry_form: EnterReportForm | None = None, status: int = 200):
    if entry_form is None and current_user.is_admin:
        entry_form = _entry_form()
    return render_template(
        "offline/staff.html",
        pending=services.reports_for_review(),
        decided=services.recent_decisions(),
        decision_form=ReportDecisionForm(),
        entry_form=entry_form if current_user.is_admin else None,
    ), status


def _entry_form() -> EnterReportForm:
    form = EnterReportForm()
    rows = db.session.scalars(select(Case).order_by(Case.status, Case.sort_order, Case.id))
    form.case_id.choices = [(case.id, f"{case.person_name} ({case.slug})") for case in rows]
    return form


@staff_bp.get("")
@roles_required("moderator", "admin")
def index():
    return _staff_page()


@staff_bp.post("/<int:report_id>/decide")
@roles_required("moderator", "admin")
def decide(report_id: int):
    form = ReportDecisionForm()
    if not form.validate_on_submit():
        if "csrf_token" in form.errors:
            abort(400)
        flash(str(ERRORS["unknown_action"]), "error")
        return redirect(url_for("paper_reports.index"))
    try:
        report = services.decide_report(report_id, form.action.data, current_user, form.reason.data or "")
    except services.ReportError as error:
        db.session.rollback()
        flash(str(ERRORS.get(error.code, _l("This decision could not be made."))), "error")
        return redirect(url_for("paper_reports.index"))
    db.session.commit()
    if report.state == "approved":
        flash(_("Report approved: its letters now count for the case."), "success")
    else:
        flash(_("Report rejected."), "success")
    return redirect(url_for("paper_reports.index"))


@staff_bp.post("/new")
@roles_required("admin")
def enter():
    form = _entry_form()
    if not form.validate_on_submit():
        if "csrf_token" in form.errors:
            abort(400)
        return _staff_page(form, status=400)
    case = db.session.get(Case, form.case_id.data) or abort(404)
    services.enter_report(case, _report_input(form), current_user)
    db.session.commit()
    flash(_("Report entered: its letters now count for the case."), "success")
    return redirect(url_for("paper_reports.index"))
