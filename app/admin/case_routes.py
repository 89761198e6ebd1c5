"""Case management for admins: create, edit settings, write the content in each language."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from app.admin.auth import roles_required
from app.admin.case_forms import CaseContentForm, CaseSettingsForm, NewCaseForm
from app.admin.services import record_admin_action
from app.cases import services as cases
from app.cases.models import TRANSLATED_FIELDS, Case
from app.extensions import db

bp = Blueprint("case_admin", __name__, url_prefix="/admin/cases")


def _case(case_id: int) -> Case:
    return db.session.get(Case, case_id) or abort(404)


@bp.route("/", methods=["GET", "POST"])
@roles_required("admin")
def index():
    form = NewCaseForm()
    if form.validate_on_submit():
        try:
            case = cases.create_case(form.slug.data, form.person_name.data, form.country.data)
        except cases.CaseEditError as error:
            form.slug.errors.append(str(error))
        else:
            record_admin_action(current_user, "create case", case, case.slug)
            db.session.commit()
            return redirect(url_for("case_admin.edit", case_id=case.id))
    rows = list(db.session.scalars(select(Case).order_by(Case.status, Case.sort_order, Case.id)))
    return render_template("admin/cases.html", cases=rows, form=form)


def _edit_page(case: Case, settings: CaseSettingsForm | None = None, content: dict | None = None, status=200):
    settings = settings or CaseSettingsForm(obj=case, formdata=None)
    content = content or {}
    for locale in current_app.config["LANGUAGES"]:
        if locale not in content:
            content[locale] = CaseContentForm(obj=case.translation(locale), formdata=None, prefix=locale)
    return render_template("admin/case_edit.html", case=case, settings=settings, content=content), status


@bp.get("/<int:case_id>")
@roles_required("admin")
def edit(case_id: int):
    return _edit_page(_case(case_id))


@bp.post("/<int:case_id>/settings")
@roles_required("admin")
def save_settings(case_id: int):
    case = _case(case_id)
    form = CaseSettingsForm()
    if not form.validate_on_submit():
        return _edit_page(case, settings=form, status=400)
    values = {name: form[name].data for name in cases.CASE_SETTINGS}
    values["goal"] = values["goal"] or 0
    values["forwarding_contact_email"] = values["forwarding_contact_email"] or None
    values["forwarding_contact_name"] = values["forwarding_contact_name"] or None
    changed = cases.update_case(case, values)
    if changed:
        record_admin_action(current_user, "edit case", case, ", ".join(changed))
    db.session.commit()
    flash(_("Saved."), "success")
    return redirect(url_for("case_admin.edit", case_id=case.id))


@bp.post("/<int:case_id>/content/<locale>")
@roles_required("admin")
def save_content(case_id: int, locale: str):
    case = _case(case_id)
    if locale not in current_app.config["LANGUAGES"]:
        abort(404)
    form = CaseContentForm(prefix=locale)
    if not form.validate_on_submit():
        return _edit_page(case, content={locale: form}, status=400)
    changed = cases.save_translation(case, locale, {name: form[name].data for name in TRANSLATED_FIELDS})
    if changed:
        record_admin_action(current_user, f"edit case content ({locale})", case, ", ".join(changed))
    db.session.commit()
    flash(_("Saved."), "success")
    return redirect(url_for("case_admin.edit", case_id=case.id))
