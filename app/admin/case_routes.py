"""Case management for admins: create, edit settings, write the content in each language, manage the targets
and the timeline (and tell the supporters about a new entry). Every change goes in the audit trail."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from app.admin.case_forms import (
    TIMELINE_KINDS,
    CaseContentForm,
    CaseSettingsForm,
    NewCaseForm,
    TargetForm,
    timeline_form,
)
from app.appeals import services as appeals
from app.cases import services as cases
from app.cases.models import TRANSLATED_FIELDS, Case, CaseUpdate, Target
from app.extensions import db
from app.staff.auth import roles_required
from app.staff.services import record_admin_action

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
    return (
        render_template(
            "admin/case_edit.html", case=case, settings=settings, content=content, timeline_kinds=TIMELINE_KINDS
        ),
        status,
    )


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
    if "status" in changed:
        flash(_("The status changed: add a timeline entry to tell the supporters what happened."), "info")
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


# --- targets --------------------------------------------------------------------------------------------------


def _target(case: Case, target_id: int) -> Target:
    target = db.session.get(Target, target_id)
    if target is None or target.case_id != case.id:
        abort(404)
    return target


@bp.route("/<int:case_id>/targets/new", methods=["GET", "POST"], endpoint="new_target", defaults={"target_id": None})
@bp.route("/<int:case_id>/targets/<int:target_id>", methods=["GET", "POST"])
@roles_required("admin")
def edit_target(case_id: int, target_id: int | None):
    case = _case(case_id)
    target = _target(case, target_id) if target_id is not None else None
    if target is not None and request.method == "GET":
        data = {name: getattr(target, name) for name in cases.TARGET_SETTINGS}
        form = TargetForm(data=data | {"addresses": "\n".join(address.email for address in target.addresses)})
    else:
        form = TargetForm(country=case.country, language=case.person_language)
    if form.validate_on_submit():
        values = {name: form[name].data for name in cases.TARGET_SETTINGS}
        try:
            target, changed = cases.save_target(case, target, values, form.addresses.emails)
        except cases.CaseEditError:
            db.session.rollback()
            form.addresses.errors.append(
                _("Appeals are waiting for the daily digest of an address you removed. Pause the target instead.")
            )
        else:
            if changed:
                record_admin_action(current_user, "edit target", target, f"{target.name}: {', '.join(changed)}")
            db.session.commit()
            flash(_("Saved."), "success")
            return redirect(url_for("case_admin.edit", case_id=case.id) + "#targets")
    status = 400 if form.errors else 200
    return render_template("admin/target_edit.html", case=case, target=target, form=form), status


@bp.post("/<int:case_id>/targets/<int:target_id>/remove")
@roles_required("admin")
def remove_target(case_id: int, target_id: int):
    case = _case(case_id)
    target = _target(case, target_id)
    try:
        cases.remove_target(target)
    except cases.CaseEditError:
        db.session.rollback()
        flash(_("Appeals are waiting for the daily digest of this target. Pause it instead."), "error")
    else:
        record_admin_action(current_user, "remove target", case, target.name)
        db.session.commit()
        flash(_("Target removed. Emails already queued for it are still sent."), "success")
    return redirect(url_for("case_admin.edit", case_id=case.id) + "#targets")


# --- timeline -------------------------------------------------------------------------------------------------


def _entry(case: Case, entry_id: int) -> CaseUpdate:
    entry = db.session.get(CaseUpdate, entry_id)
    if entry is None or entry.case_id != case.id:
        abort(404)
    return entry


@bp.route("/<int:case_id>/timeline/new", methods=["GET", "POST"], endpoint="new_entry", defaults={"entry_id": None})
@bp.route("/<int:case_id>/timeline/<int:entry_id>", methods=["GET", "POST"])
@roles_required("admin")
def edit_entry(case_id: int, entry_id: int | None):
    case = _case(case_id)
    entry = _entry(case, entry_id) if entry_id is not None else None
    locales = tuple(current_app.config["LANGUAGES"])
    if entry is not None and request.method == "GET":
        texts = {f"text_{t.locale}": t.text for t in entry.translations}
        form = timeline_form(locales, obj=entry, **texts)
    else:
        form = timeline_form(locales)
    if form.validate_on_submit():
        values = {"happened_on": form.happened_on.data, "precision": form.precision.data, "kind": form.kind.data}
        entry = cases.save_timeline_entry(case, entry, values, form.texts())
        record_admin_action(current_user, "edit timeline", case, f"{entry.happened_on} {entry.kind}")
        if form.announce.data and appeals.request_announcement(entry):
            record_admin_action(current_user, "announce to supporters", case, f"{entry.happened_on} {entry.kind}")
            flash(_("Saved. The supporters who asked for news will be told, a few at a time."), "success")
        else:
            flash(_("Saved."), "success")
        db.session.commit()
        return redirect(url_for("case_admin.edit", case_id=case.id) + "#timeline")
    status = 400 if form.errors else 200
    return render_template("admin/timeline_edit.html", case=case, entry=entry, form=form), status


@bp.post("/<int:case_id>/timeline/<int:entry_id>/remove")
@roles_required("admin")
def remove_entry(case_id: int, entry_id: int):
    case = _case(case_id)
    entry = _entry(case, entry_id)
    record_admin_action(current_user, "remove timeline entry", case, f"{entry.happened_on} {entry.kind}")
    cases.remove_timeline_entry(entry)
    db.session.commit()
    flash(_("Timeline entry removed."), "success")
    return redirect(url_for("case_admin.edit", case_id=case.id) + "#timeline")
