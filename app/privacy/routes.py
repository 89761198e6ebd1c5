"""Admins apply the retention policy and supporters' erasure requests from the browser (also `flask privacy`)."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, url_for
from flask_babel import ngettext
from flask_login import current_user

from app.extensions import db
from app.privacy import services
from app.privacy.forms import EraseSupporterForm
from app.staff.auth import roles_required
from app.staff.forms import ActionForm
from app.staff.services import record_admin_action

bp = Blueprint("privacy_admin", __name__, url_prefix="/admin/privacy")


def _page(erase_form: EraseSupporterForm | None = None, status: int = 200):
    return (
        render_template(
            "privacy/admin.html",
            retention_days=current_app.config["PRIVACY_RETENTION_DAYS"],
            erasures=services.recent_erasures(),
            erase_form=erase_form or EraseSupporterForm(formdata=None),
        ),
        status,
    )


@bp.get("/")
@roles_required("admin")
def index():
    return _page()


@bp.post("/purge")
@roles_required("admin")
def purge():
    if not ActionForm().validate_on_submit():
        abort(400)
    erased = services.purge_expired_personal_data(performed_by=f"admin {current_user.email}")
    record_admin_action(current_user, "purge personal data", current_user, f"{erased} items erased")
    db.session.commit()
    flash(ngettext("%(num)s item erased.", "%(num)s items erased.", erased), "success")
    return redirect(url_for("privacy_admin.index"))


@bp.post("/erase")
@roles_required("admin")
def erase():
    form = EraseSupporterForm()
    if not form.validate_on_submit():
        return _page(form, 400)
    record = services.erase_supporter(form.email.data, performed_by=f"admin {current_user.email}")
    # The audit trail names the erasure record, never the address.
    record_admin_action(current_user, "erase a supporter's data", record, f"{record.items_erased} items erased")
    db.session.commit()
    flash(
        ngettext(
            "%(num)s item erased; the erasure is recorded.",
            "%(num)s items erased; the erasure is recorded.",
            record.items_erased,
        ),
        "success",
    )
    return redirect(url_for("privacy_admin.index"))
