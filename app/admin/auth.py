"""Who may see the staff pages: signed-in, active accounts, with the right role."""

from __future__ import annotations

from functools import wraps
from urllib.parse import urlsplit

from flask import abort
from flask_login import current_user

from app.admin import services
from app.extensions import login_manager


def init_app(app) -> None:
    login_manager.init_app(app)
    login_manager.login_view = "admin.login"
    login_manager.session_protection = "strong"
    login_manager.user_loader(services.load_user)


def roles_required(*roles: str):
    """Signed in (else to the sign-in page) and holding one of `roles` (else 403)."""

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        wrapped.required_roles = roles  # lets a test check every staff route for its guard
        return wrapped

    return decorator


def safe_next(target: str | None, default: str) -> str:
    """Only a local path may follow sign-in (never another site, never `//host`)."""
    if not target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    return target
