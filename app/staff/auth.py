"""Who may see the staff pages: signed-in, active accounts, with the right role."""

from __future__ import annotations

import unicodedata
from functools import wraps
from urllib.parse import unquote, urlsplit

from flask import abort
from flask_login import current_user

from app.extensions import login_manager
from app.staff import services


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


NEXT_MAX_LENGTH = 2000
NEXT_DECODINGS = 4  # a browser, a proxy or two may each percent-decode what we send


def safe_next(target: str | None, default: str) -> str:
    """`target` if it is a path on this site, else `default`: never another site, `//host`, a scheme, a backslash, a
    control or formatting character, in the value itself or in what it becomes when percent-decoded."""
    if not target or len(target) > NEXT_MAX_LENGTH:
        return default
    value = target
    for _ in range(NEXT_DECODINGS):
        if not _is_plain_local_path(value):
            return default
        decoded = unquote(value)
        if decoded == value:
            return target
        value = decoded
    return default  # still encoded after that many decodings: not a link this site makes


def _is_plain_local_path(value: str) -> bool:
    if "\\" in value or any(unicodedata.category(char)[0] == "C" or char in "\u2028\u2029" for char in value):
        return False  # browsers drop tabs and line breaks and read a backslash as a slash: `/\evil` is `//evil`
    parts = urlsplit(value)
    return value.startswith("/") and not value.startswith("//") and not (parts.scheme or parts.netloc)
