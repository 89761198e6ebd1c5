"""Accounts and signing in: hashed passwords, lockout after repeated failures."""

from __future__ import annotations

import secrets
from datetime import timedelta
from functools import lru_cache

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload
from werkzeug.security import check_password_hash, generate_password_hash

from app.admin.models import ROLES, AdminEvent, User
from app.extensions import db
from app.models_base import utcnow


class AccountError(ValueError):
    pass


def normalise_email(email: str) -> str:
    return email.strip().lower()


def create_user(email: str, password: str, role: str) -> User:
    email = normalise_email(email)
    if role not in ROLES:
        raise AccountError(f"role must be one of {', '.join(ROLES)}")
    if "@" not in email:
        raise AccountError("give an email address")
    check_password_strength(password)
    if db.session.scalar(select(User).where(User.email == email)):
        raise AccountError(f"{email} already has an account")
    user = User(email=email, role=role)
    user.set_password(password)
    db.session.add(user)
    db.session.flush()
    return user


def check_password_strength(password: str) -> None:
    minimum = current_app.config["PASSWORD_MIN_LENGTH"]
    if len(password or "") < minimum:
        raise AccountError(f"the password must have at least {minimum} characters")


def find_user(email: str) -> User | None:
    return db.session.scalar(select(User).where(User.email == normalise_email(email)))


def authenticate(email: str, password: str) -> User | None:
    """The user, if the password is right and the account is neither inactive nor locked; counts failures."""
    user = find_user(email)
    now = utcnow()
    if user is None:
        check_password_hash(_dummy_hash(), password)  # as slow as a real check: no hint that the account exists
        return None
    if user.locked_until and user.locked_until > now:
        return None
    if not user.active or not user.check_password(password):
        user.failed_logins += 1
        if user.failed_logins >= current_app.config["LOGIN_MAX_FAILURES"]:
            user.locked_until = now + timedelta(minutes=current_app.config["LOGIN_LOCK_MINUTES"])
            user.failed_logins = 0
        db.session.flush()
        return None
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = now
    db.session.flush()
    return user


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return generate_password_hash(secrets.token_urlsafe(16))


def is_locked(email: str) -> bool:
    user = find_user(email)
    return bool(user and user.locked_until and user.locked_until > utcnow())


def load_user(identifier: str) -> User | None:
    user_id, _, version = (identifier or "").partition(":")
    if not user_id.isdigit() or not version.isdigit():
        return None
    user = db.session.get(User, int(user_id))
    if user is None or not user.active or user.session_version != int(version):
        return None
    return user


def set_password(email: str, password: str) -> User:
    user = find_user(email)
    if user is None:
        raise AccountError(f"no account for {email}")
    check_password_strength(password)
    user.set_password(password)
    db.session.flush()
    return user


def deactivate(email: str) -> User:
    user = find_user(email)
    if user is None:
        raise AccountError(f"no account for {email}")
    user.active = False
    user.session_version += 1
    db.session.flush()
    return user


def list_users() -> list[User]:
    return list(db.session.scalars(select(User).order_by(func.lower(User.email))))


def record_admin_action(actor: User, action: str, obj, details: str = "") -> None:
    """Put an admin's change in the audit trail (in the same transaction as the change)."""
    db.session.add(
        AdminEvent(
            actor_id=actor.id,
            action=action,
            object_type=type(obj).__name__,
            object_id=getattr(obj, "id", None),
            details=details[:2000],
            created_at=utcnow(),
        )
    )


def admin_changes(limit: int = 100, before_id: int | None = None) -> list[AdminEvent]:
    """The latest admin changes, newest first, a page at a time (keyed by id, never by offset)."""
    query = select(AdminEvent).options(joinedload(AdminEvent.actor))
    if before_id:
        query = query.where(AdminEvent.id < before_id)
    return list(db.session.scalars(query.order_by(AdminEvent.id.desc()).limit(limit)))
