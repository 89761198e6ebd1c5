"""Signing in and out."""

from __future__ import annotations

import math

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_user, logout_user

from app.admin.labels import action_label
from app.extensions import client_address, db, limiter
from app.moderation import services as moderation
from app.offline import services as offline
from app.staff import services
from app.staff.auth import roles_required, safe_next
from app.staff.forms import ActionForm, LoginForm

bp = Blueprint("admin", __name__, url_prefix="/admin")

HOME_COUNT_CAP = 10_000  # the home page counts waiting letters up to this, then says "more than"


def _login_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


@bp.route("/login", methods=["GET", "POST"])
# Per client address only: a limit per account would be a lock that anyone could put on it. Failures per account
# slow down gently instead (services.authenticate's growing delays).
@limiter.limit(_login_limit, methods=["POST"])
def login():
    form = LoginForm()
    if form.validate_on_submit():
        try:
            user = services.authenticate(form.email.data, form.password.data, client_address())
        except services.SignInDelayed as delayed:
            # The same words whether or not the account exists: only how long to wait.
            flash(_wait_message(delayed.seconds), "error")
            return render_template("admin/login.html", form=form), 429, {"Retry-After": str(delayed.seconds)}
        db.session.commit()
        if user is not None:
            session.clear()  # a new session at sign-in: nothing carried over from before
            login_user(user)
            return redirect(safe_next(request.args.get("next"), url_for("moderation.queue")))
        flash(_("Wrong email address or password."), "error")
        return render_template("admin/login.html", form=form), 401
    return render_template("admin/login.html", form=form)


def _wait_message(seconds: int) -> str:
    if seconds < 120:
        # Translators: after many wrong passwords; the form answers again after this many seconds.
        return ngettext(
            "Too many attempts. Try again in %(num)s second.",
            "Too many attempts. Try again in %(num)s seconds.",
            seconds,
        )
    # Translators: after many wrong passwords; the form answers again after this many minutes.
    return ngettext(
        "Too many attempts. Try again in %(num)s minute.",
        "Too many attempts. Try again in %(num)s minutes.",
        math.ceil(seconds / 60),
    )


@bp.post("/logout")
@roles_required("moderator", "admin")
def logout():
    if ActionForm().validate_on_submit():
        services.end_sessions(current_user._get_current_object())  # a copy of the cookie is refused from now on
        db.session.commit()
        logout_user()
        session.clear()
    return redirect(url_for("admin.login"))


@bp.get("/")
@roles_required("moderator", "admin")
def index():

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
