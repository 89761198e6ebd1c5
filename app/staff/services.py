"""Accounts and signing in: hashed passwords, growing delays after wrong passwords, sessions that end."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import math
import secrets
from collections.abc import Callable
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import case, delete, func, or_, select, update
from sqlalchemy.orm import joinedload
from werkzeug.security import check_password_hash, generate_password_hash

from app.extensions import db, upsert_insert
from app.models_base import utcnow
from app.staff.models import PASSWORD_HASH_METHOD, ROLES, AdminEvent, LoginThrottle, User

# Checked when no active account has the address given: a random hash of the same method and cost as every stored
# one, which no password matches. Built without hashing, so that even the first check costs exactly one hash.
_DECOY_HASH = f"{PASSWORD_HASH_METHOD}${secrets.token_hex(8)}${secrets.token_hex(64)}"


class AccountError(ValueError):
    pass


class SignInDelayed(AccountError):
    """Too many wrong passwords lately: no password is checked for this account (from this address) for `seconds`."""

    def __init__(self, seconds: int) -> None:
        super().__init__(f"too many attempts: try again in {seconds} seconds")
        self.seconds = seconds


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


def authenticate(email: str, password: str, address: str, now: datetime | None = None) -> User | None:
    """The user, if the password is right and the account active; otherwise None, and the failure is counted.

    Whether the account exists, is inactive or not, the answer is the same and costs the same: one password hash of
    the same cost. Raises `SignInDelayed`, before any password is checked, while this account must wait after wrong
    passwords from this client address, or from all addresses together.
    """
    now = now or utcnow()
    pair, account = throttle_digests(email, address)
    wait = _wait(pair, account, now)
    if wait:
        raise SignInDelayed(wait)
    user = find_user(email)
    matches = check_password_hash(user.password_hash if user is not None else _DECOY_HASH, password)
    _forget_old_throttles(now)
    if user is None or not user.active or not matches:
        _count_failure(pair, _pair_delay, now)
        _count_failure(account, _account_delay, now)
        return None
    _reset_after_success(pair, account, now)
    if user.password_hash.split("$", 1)[0] != PASSWORD_HASH_METHOD:
        # An older method or cost: hashed again now that we have the password (open sessions are not ended).
        user.password_hash = generate_password_hash(password, method=PASSWORD_HASH_METHOD)
    user.last_login_at = now
    db.session.flush()
    return user


def throttle_digests(email: str, address: str) -> tuple[str, str]:
    """The `login_throttles` keys for (account, client address) and for the account from every address.

    Keyed with the secret key, so that the table reveals neither. An IPv6 client counts as its /64 network (what one
    subscriber usually holds), so that hopping between its addresses does not start afresh.
    """
    secret = current_app.config["SECRET_KEY"].encode()
    account = normalise_email(email)

    def digest(*parts: str) -> str:
        message = "\0".join(("inkwell-login-throttle", *parts)).encode(errors="backslashreplace")
        return hmac.new(secret, message, hashlib.sha256).hexdigest()

    return digest("address", account, _address_group(address)), digest("account", account)


def _address_group(address: str) -> str:
    try:
        ip = ipaddress.ip_address((address or "").strip())
    except ValueError:
        return (address or "").strip()
    if ip.version == 4:
        return str(ip)
    if ip.ipv4_mapped is not None:
        return str(ip.ipv4_mapped)
    return str(ipaddress.ip_network(f"{ip}/64", strict=False))


def _pair_delay(failures: int) -> int:
    """One address, one account: after the free failures, 1 s, 2 s, 4 s... up to the cap."""
    config = current_app.config
    beyond = failures - config["LOGIN_FREE_FAILURES"]
    return 0 if beyond <= 0 else min(config["LOGIN_MAX_DELAY_SECONDS"], 2 ** min(beyond - 1, 30))


def _account_delay(failures: int) -> int:
    """One account, every address: after many more free failures, one second more each time, up to a low cap."""
    config = current_app.config
    beyond = failures - config["LOGIN_ACCOUNT_FREE_FAILURES"]
    return 0 if beyond <= 0 else min(config["LOGIN_ACCOUNT_MAX_DELAY_SECONDS"], beyond)


def _wait(pair: str, account: str, now: datetime) -> int:
    """Whole seconds before this account may be tried from this address (0: now)."""
    rows = {
        row.digest: row
        for row in db.session.execute(
            select(LoginThrottle.digest, LoginThrottle.next_allowed_at, LoginThrottle.known_until).where(
                LoginThrottle.digest.in_((pair, account))
            )
        )
    }
    waits = [rows[pair].next_allowed_at] if pair in rows else []
    known_address = pair in rows and rows[pair].known_until is not None and rows[pair].known_until > now
    if account in rows and not known_address:  # where the account signed in lately, others' failures do not count
        waits.append(rows[account].next_allowed_at)
    latest = max((until for until in waits if until is not None), default=now)
    return max(0, math.ceil((latest - now).total_seconds()))


def _count_failure(digest: str, delay_for: Callable[[int], int], now: datetime) -> None:
    """One more failure (failures after a quiet `LOGIN_FORGET_HOURS` start again from one), and the delay it earns.

    Atomic on the database (an upsert), so that simultaneous attempts in several processes all count.
    """
    forget = timedelta(hours=current_app.config["LOGIN_FORGET_HOURS"])
    column = LoginThrottle.__table__.c
    insert = upsert_insert(LoginThrottle).values(digest=digest, failures=1, last_failure_at=now, forget_at=now + forget)
    proposed = insert.excluded
    later_forget_at = case((column.forget_at > proposed.forget_at, column.forget_at), else_=proposed.forget_at)
    insert = insert.on_conflict_do_update(
        index_elements=[column.digest],
        set_={
            "failures": case(
                (or_(column.last_failure_at.is_(None), column.last_failure_at < now - forget), 1),
                else_=column.failures + 1,
            ),
            "last_failure_at": proposed.last_failure_at,
            "forget_at": later_forget_at,
        },
    ).returning(column.failures)
    delay = delay_for(db.session.execute(insert).scalar_one())
    if delay:
        until = now + timedelta(seconds=delay)
        db.session.execute(
            update(LoginThrottle)
            .where(
                LoginThrottle.digest == digest,
                or_(LoginThrottle.next_allowed_at.is_(None), LoginThrottle.next_allowed_at < until),
            )
            .values(next_allowed_at=until)
            .execution_options(synchronize_session=False)
        )


def _reset_after_success(pair: str, account: str, now: datetime) -> None:
    """The address starts afresh and is known for a while; so does the account's count from every address."""
    known_until = now + timedelta(days=current_app.config["LOGIN_KNOWN_ADDRESS_DAYS"])
    fresh = {"failures": 0, "last_failure_at": None, "next_allowed_at": None}
    insert = upsert_insert(LoginThrottle).values(digest=pair, known_until=known_until, forget_at=known_until, **fresh)
    insert = insert.on_conflict_do_update(
        index_elements=[LoginThrottle.__table__.c.digest],
        set_={**fresh, "known_until": known_until, "forget_at": known_until},
    )
    db.session.execute(insert)
    db.session.execute(
        update(LoginThrottle)
        .where(LoginThrottle.digest == account)
        .values(**fresh)
        .execution_options(synchronize_session=False)
    )


def _forget_old_throttles(now: datetime) -> None:
    """Rows whose failures and known address have both lapsed (indexed, so cheap however many there are)."""
    db.session.execute(
        delete(LoginThrottle).where(LoginThrottle.forget_at < now).execution_options(synchronize_session=False)
    )


def recent_failures(email: str, now: datetime | None = None) -> int:
    """Wrong passwords given lately for this account, from every address (what `flask users list` shows)."""
    now = now or utcnow()
    forget = timedelta(hours=current_app.config["LOGIN_FORGET_HOURS"])
    _, account = throttle_digests(email, "")
    row = db.session.execute(
        select(LoginThrottle.failures, LoginThrottle.last_failure_at).where(LoginThrottle.digest == account)
    ).first()
    return row.failures if row and row.last_failure_at and row.last_failure_at >= now - forget else 0


def end_sessions(user: User) -> None:
    """Sign `user` out everywhere: every session cookie issued so far is refused from its next request on."""
    user.end_sessions()
    db.session.flush()


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
    user.end_sessions()
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
