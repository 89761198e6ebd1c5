"""Signing in and out."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user

from app.admin import services
from app.admin.auth import roles_required, safe_next
from app.admin.forms import ActionForm, LoginForm
from app.admin.labels import action_label
from app.extensions import db, limiter

bp = Blueprint("admin", __name__, url_prefix="/admin")

HOME_COUNT_CAP = 10_000  # the home page counts waiting letters up to this, then says "more than"


def _login_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


def _account_key() -> str:
    return "login:" + services.normalise_email(request.form.get("email", ""))


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
@limiter.limit(_login_limit, methods=["POST"], key_func=_account_key)
def login():
    form = LoginForm()
    if form.validate_on_submit():
        user = services.authenticate(form.email.data, form.password.data)
        db.session.commit()
        if user is not None:
            session.clear()  # a new session at sign-in: nothing carried over from before
            login_user(user)
            return redirect(safe_next(request.args.get("next"), url_for("moderation.queue")))
        if services.is_locked(form.email.data):
            flash(_("Too many failed attempts: this account is locked for a while."), "error")
        else:
            flash(_("Wrong email address or password."), "error")
        return render_template("admin/login.html", form=form), 401
    return render_template("admin/login.html", form=form)


@bp.post("/logout")
@roles_required("moderator", "admin")
def logout():
    if ActionForm().validate_on_submit():
        logout_user()
        session.clear()
    return redirect(url_for("admin.login"))


@bp.get("/")
@roles_required("moderator", "admin")
def index():
    from app.moderation import services as moderation
    from app.offline import services as offline

    waiting = moderation.waiting_to_forward()
    return render_template(
        "admin/home.html",
        pending=moderation.pending_count(cap=HOME_COUNT_CAP),
        count_cap=HOME_COUNT_CAP,
        to_forward=sum(waiting.values()),
        paper_reports=offline.pending_count(),
    )


@bp.get("/changes")
@roles_required("admin")
def changes():
    """Every change admins made to campaign data: cases, targets, timeline, delivery, exports."""
    events = services.admin_changes(before_id=request.args.get("before", type=int))
    return render_template("admin/changes.html", events=events, action_label=action_label)


@bp.app_context_processor
def staff_context():
    return {"action_form": ActionForm, "staff": current_user}
