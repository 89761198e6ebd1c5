"""Admins' pages: the campaign's figures and the watch over delivery (pause, resume, retry)."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.cases import services as case_services
from app.cases.models import Target
from app.dashboard import charts, services
from app.extensions import db
from app.mail import watch
from app.mail.models import OutboundMessage
from app.staff.auth import roles_required
from app.staff.forms import ActionForm
from app.staff.services import record_admin_action

bp = Blueprint("dashboard", __name__, url_prefix="/admin")


@bp.get("/dashboard")
@roles_required("admin")
def figures():
    days = services.appeals_per_day()
    cases = services.actions_per_case()
    return render_template(
        "dashboard/figures.html",
        cases=cases,
        total=services.campaign_totals(cases),
        backlog=services.moderation_backlog(),
        days=days,
        chart=charts.bar_chart([(d.isoformat(), n) for d, n in days], _("Confirmed appeals per day")),
        countries=services.appeals_per_country(),
        rate=services.confirmation_rate(),
    )


@bp.get("/delivery")
@roles_required("admin")
def delivery():
    return render_template(
        "dashboard/delivery.html",
        status=watch.outbox_status(),
        hourly=watch.throughput(),
        targets=watch.delivery_by_target(),
        failed=watch.failed_messages(limit=50),
        form=ActionForm(),
    )


@bp.post("/delivery/targets/<int:target_id>/<any(pause, resume):action>")
@roles_required("admin")
def pause_or_resume(target_id: int, action: str):
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        target = case_services.set_target_paused(target_id, action == "pause")
    except LookupError:
        abort(404)
    record_admin_action(current_user, f"{action} target", target, target.name)
    db.session.commit()
    return redirect(url_for("dashboard.delivery"))


@bp.post("/delivery/retry")
@roles_required("admin")
def retry():
    if not ActionForm().validate_on_submit():
        abort(400)
    message_id = request.form.get("message", type=int)
    target_id = request.form.get("target", type=int)
    if (message_id is None) == (target_id is None):
        abort(400)
    count = watch.retry_failed(message_id=message_id, target_id=target_id)
    model, key = (OutboundMessage, message_id) if message_id is not None else (Target, target_id)
    retried = db.session.get(model, key)
    if retried is not None:
        record_admin_action(current_user, "retry delivery", retried, f"{count} queued again")
    db.session.commit()
    flash(_("%(count)s messages queued again.", count=count), "success")
    return redirect(url_for("dashboard.delivery"))
