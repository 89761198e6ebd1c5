"""Staff accounts: moderators (moderate and forward) and admins (also manage cases, targets and users)."""

from __future__ import annotations

from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from app.extensions import db
from app.models_base import UTCDateTime, utcnow

ROLES = ("moderator", "admin")
# werkzeug's default today, written out: every stored hash and the decoy checked for unknown accounts cost the same.
PASSWORD_HASH_METHOD = "scrypt:32768:8:1"  # noqa: S105 - a method, not a password


class User(UserMixin, db.Model):
    __tablename__ = "users"
    __table_args__ = (CheckConstraint("role IN ('moderator', 'admin')", name="role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16), default="moderator")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Part of the session identifier: signing out, changing the password or deactivating ends every open session.
    session_version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    def set_password(self, password: str) -> None:
        self.password_hash = generate_password_hash(password, method=PASSWORD_HASH_METHOD)
        self.end_sessions()

    def end_sessions(self) -> None:
        """Every session signed in before this stops working at its next request (see `load_user`)."""
        self.session_version = (self.session_version or 0) + 1

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    def get_id(self) -> str:
        return f"{self.id}:{self.session_version}"

    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


class LoginThrottle(db.Model):
    """Wrong passwords, counted per account and per (account, client address), and how long each must wait.

    `digest` is a keyed digest (see `services.throttle_digests`): neither the address nor the account can be read back,
    and the same rows serve every process.
    """

    __tablename__ = "login_throttles"
    __table_args__ = (Index("ix_login_throttles_forget_at", "forget_at"),)

    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_failure_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    next_allowed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # (account, address) rows: the account signed in from this address; spared the account's own delay until then.
    known_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    forget_at: Mapped[datetime] = mapped_column(UTCDateTime)  # nothing in the row matters after this: deleted


class AdminEvent(db.Model):
    """Every change an admin makes to campaign data: who, when, what, on which object."""

    __tablename__ = "admin_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(String(60))
    object_type: Mapped[str] = mapped_column(String(40))
    object_id: Mapped[int | None] = mapped_column(Integer)
    details: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    actor: Mapped[User | None] = relationship()
