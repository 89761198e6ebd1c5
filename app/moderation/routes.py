"""The moderation queue, decisions, the audit trail and forwarding, for moderators and admins."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Blueprint, abort, current_app, flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user
from sqlalchemy import select

from app.cases.models import Case
from app.extensions import db
from app.i18n import current_locale
from app.moderation import labels, services
from app.moderation.forms import DecisionForm
from app.moderation.layout import printed_message
from app.moderation.models import Bundle, BundleState
from app.solidarity.models import SolidarityLetter
from app.staff.auth import roles_required, safe_next
from app.staff.forms import ActionForm
from app.text import make_visible

bp = Blueprint("moderation", __name__, url_prefix="/admin/moderation")

PAGE_SIZE = 50

# What a moderator reads when a decision cannot be made (services raise the codes).
ERRORS = {
    "unknown_action": _l("Choose approve or reject."),
    "no_selection": _l("Select at least one message first."),
    "reason_required": _l("Please give a reason to reject: it is kept in the audit trail."),
    "redaction_single_approval": _l("An edited text can only be approved, one message at a time."),
    "redaction_blank": _l("The edited text is empty. Reject the message instead, with a reason."),
    "redaction_invalid": _l("The edited text contains invisible control characters. Please remove them."),
    "nothing_to_forward": _l("No approved message is waiting to be forwarded for this case."),
    "not_failed": _l("This bundle has not failed: there is nothing to try again."),
}


@bp.context_processor
def moderation_words():
    return {
        "visible": make_visible,
        "flag_labels": labels.FLAG_LABELS,
        "label": labels.label,
        "labels": labels,
        "printed": lambda message: printed_message(message, current_app.config["BUNDLE_MESSAGE_MAX_LINES"]),
    }


def _error_message(error: services.ModerationError) -> str:
    return str(ERRORS.get(error.code, _l("This decision could not be made.")))


def _after_key() -> tuple[datetime, int] | None:
    """The queue's page key `<created_at ISO>_<id>`; anything else is the first page."""
    raw = request.args.get("after", "")
    stamp, _sep, letter_id = raw.rpartition("_")
    try:
        when = datetime.fromisoformat(stamp)
        key = int(letter_id)
    except ValueError:
        return None
    if not 0 < key < 2**31:
        return None
    return (when if when.tzinfo else when.replace(tzinfo=UTC)), key


@bp.get("/")
@roles_required("moderator", "admin")
def queue():
    filters = {
        "case_id": request.args.get("case", type=int),
        "language": (request.args.get("language") or "").strip()[:16] or None,
        "flag": request.args.get("flag") if request.args.get("flag") in labels.FLAG_LABELS else None,
    }
    letters = services.pending_queue(**filters, after=_after_key(), limit=PAGE_SIZE)
    next_key = f"{letters[-1].created_at.isoformat()}_{letters[-1].id}" if len(letters) == PAGE_SIZE else None
    query = {"case": filters["case_id"], "language": filters["language"], "flag": filters["flag"]}
    cases = list(db.session.scalars(select(Case).order_by(Case.sort_order, Case.id)))
    return render_template(
        "moderation/queue.html",
        letters=letters,
        filters=filters,
        next_url=url_for("moderation.queue", after=next_key, **{k: v for k, v in query.items() if v})
        if next_key
        else None,
        first_url=url_for("moderation.queue", **{k: v for k, v in query.items() if v}),
        is_first_page=_after_key() is None,
        cases=cases,
        form=DecisionForm(),
    )


@bp.post("/decide")
@roles_required("moderator", "admin")
def decide():
    form = DecisionForm()
    back = _back_to_queue()
    if not form.validate_on_submit():
        if "csrf_token" in form.errors:
            abort(400)
        message = ERRORS["unknown_action"] if "action" in form.errors else _l("This decision could not be made.")
        flash(str(message), "error")
        return redirect(back)
    try:
        count = services.moderate(
            form.letter.data, form.action.data, current_user, form.reason.data or "", redacted_text=form.redaction
        )
    except services.ModerationError as error:
        db.session.rollback()
        flash(_error_message(error), "error")
        return redirect(back)
    db.session.commit()
    if count == len(form.letter.data):
        flash(ngettext("%(num)s message decided.", "%(num)s messages decided.", count), "success")
    else:
        flash(
            ngettext(
                "%(num)s message decided; the others had already been decided by someone else.",
                "%(num)s messages decided; the others had already been decided by someone else.",
                count,
            ),
            "success",
        )
    return redirect(back)


def _back_to_queue() -> str:
    """Back to the queue page the decision was made from (a local path only), else its first page."""
    default = url_for("moderation.queue")
    target = safe_next(request.form.get("back"), default)
    return target if target.startswith(default) else default


@bp.get("/letters/<int:letter_id>")
@roles_required("moderator", "admin")
def letter(letter_id: int):
    row = db.session.get(SolidarityLetter, letter_id) or abort(404)
    return render_template(
        "moderation/letter.html",
        letter=row,
        history=services.letter_history(letter_id),
        form=DecisionForm(),
    )


@bp.get("/log")
@roles_required("moderator", "admin")
def log():
    return render_template(
        "moderation/log.html", events=services.audit_log(before_id=request.args.get("before", type=int))
    )


@bp.post("/cases/<int:case_id>/bundle")
@roles_required("moderator", "admin")
def create_bundle(case_id: int):
    if not ActionForm().validate_on_submit():
        abort(400)
    case = db.session.get(Case, case_id) or abort(404)
    try:
        bundle = services.create_bundle(case, current_user, locale=current_locale())
    except services.NothingToForward as error:
        db.session.rollback()
        flash(_error_message(error), "error")
        return redirect(url_for("moderation.bundles"))
    db.session.commit()
    flash(
        ngettext(
            "Bundle created with %(num)s message: its PDF is being prepared.",
            "Bundle created with %(num)s messages: its PDF is being prepared.",
            bundle.letter_count,
        ),
        "success",
    )
    return redirect(url_for("moderation.bundles"))


@bp.post("/bundles/<int:bundle_id>/retry")
@roles_required("moderator", "admin")
def retry_bundle(bundle_id: int):
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        services.retry_bundle(bundle_id)
    except services.ModerationError as error:
        db.session.rollback()
        flash(_error_message(error), "error")
        return redirect(url_for("moderation.bundles"))
    db.session.commit()
    flash(_("Bundle %(id)s will be prepared again.", id=bundle_id), "success")
    return redirect(url_for("moderation.bundles"))


@bp.get("/bundles")
@roles_required("moderator", "admin")
def bundles():
    cases = list(db.session.scalars(select(Case).where(Case.status == "active").order_by(Case.sort_order, Case.id)))
    return render_template(
        "moderation/bundles.html",
        bundles=services.bundles_for(),
        cases=cases,
        waiting=services.waiting_to_forward(),
        form=ActionForm(),
    )


@bp.get("/bundles/<int:bundle_id>.pdf")
@roles_required("moderator", "admin")
def bundle_pdf(bundle_id: int):
    bundle = db.session.get(Bundle, bundle_id) or abort(404)
    if bundle.state != BundleState.READY:
        # Not an error: the worker is preparing it (202), or it failed and staff can try again (409).
        status = 202 if bundle.state == BundleState.RENDERING else 409
        response = make_response(render_template("moderation/bundle_status.html", bundle=bundle, form=ActionForm()))
        response.status_code = status
        response.headers["Cache-Control"] = "no-store"
        if status == 202:
            response.headers["Retry-After"] = "30"
        return response
    response = make_response(bundle.pdf)
    response.headers["Content-Type"] = "application/pdf"
    response.headers["Content-Disposition"] = f'attachment; filename="messages-of-hope-{bundle.id}.pdf"'
    response.headers["Cache-Control"] = "no-store"
    return response
