"""Cases, their translated content, the authorities they target, their timeline and their action counters."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models_base import UTCDateTime, utcnow

CASE_STATUSES = ("active", "success")
UPDATE_KINDS = ("arrest", "charge", "trial", "sentence", "release", "campaign", "update")
DATE_PRECISIONS = ("day", "month", "year")
COUNTER_KINDS = ("appeal", "solidarity", "offline")
TRANSLATED_FIELDS = ("headline", "story", "ask", "outcome", "appeal_subject", "appeal_template")


class Case(db.Model):
    __tablename__ = "cases"
    __table_args__ = (
        CheckConstraint("status IN ('active', 'success')", name="status"),
        CheckConstraint("goal >= 0 AND prior_actions >= 0", name="non_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    person_name: Mapped[str] = mapped_column(String(200))
    country: Mapped[str] = mapped_column(String(2), index=True)
    person_language: Mapped[str] = mapped_column(String(16), default="en")
    status: Mapped[str] = mapped_column(String(16), default="active", index=True)
    published: Mapped[bool] = mapped_column(Boolean, default=False)
    # Actions taken before (or outside) this platform, e.g. the totals of an earlier year's campaign.
    prior_actions: Mapped[int] = mapped_column(BigInteger, default=0)
    goal: Mapped[int] = mapped_column(BigInteger, default=0)
    # A public wall of approved messages of hope; off where exposure could endanger someone.
    wall_public: Mapped[bool] = mapped_column(Boolean, default=False)
    forwarding_contact_name: Mapped[str | None] = mapped_column(String(200))
    forwarding_contact_email: Mapped[str | None] = mapped_column(String(320))
    sort_order: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    translations: Mapped[list[CaseTranslation]] = relationship(
        back_populates="case", cascade="all, delete-orphan", lazy="selectin"
    )
    updates: Mapped[list[CaseUpdate]] = relationship(
        back_populates="case", cascade="all, delete-orphan", order_by="CaseUpdate.happened_on"
    )
    targets: Mapped[list[Target]] = relationship(
        back_populates="case", cascade="all, delete-orphan", order_by="Target.id"
    )

    @property
    def initials(self) -> str:
        parts = [p for p in self.person_name.replace("-", " ").split() if p[:1].isalpha()]
        letters = [p[0] for p in parts if p[0].isupper()] or [p[0] for p in parts]
        return "".join(letters[:1] + letters[1:][-1:]).upper()

    def translation(self, locale: str) -> CaseTranslation | None:
        for translation in self.translations:
            if translation.locale == locale:
                return translation
        return None

    def __repr__(self) -> str:
        return f"<Case {self.slug}>"


class CaseTranslation(db.Model):
    """A case's story in one language. English is the fallback for fields left empty."""

    __tablename__ = "case_translations"
    __table_args__ = (UniqueConstraint("case_id", "locale"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    locale: Mapped[str] = mapped_column(String(16))
    headline: Mapped[str] = mapped_column(String(200), default="")
    story: Mapped[str] = mapped_column(Text, default="")
    ask: Mapped[str] = mapped_column(Text, default="")
    outcome: Mapped[str] = mapped_column(Text, default="")
    appeal_subject: Mapped[str] = mapped_column(String(200), default="")
    appeal_template: Mapped[str] = mapped_column(Text, default="")

    case: Mapped[Case] = relationship(back_populates="translations")


class CaseUpdate(db.Model):
    """A dated entry on a case's timeline (arrest, sentence, release, ...)."""

    __tablename__ = "case_updates"
    __table_args__ = (
        CheckConstraint(
            "kind IN ('arrest', 'charge', 'trial', 'sentence', 'release', 'campaign', 'update')", name="kind"
        ),
        CheckConstraint("precision IN ('day', 'month', 'year')", name="precision"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    happened_on: Mapped[date] = mapped_column(Date)
    precision: Mapped[str] = mapped_column(String(8), default="day")
    kind: Mapped[str] = mapped_column(String(16), default="update")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Telling the case's supporters about this entry: asked for by an admin, then expanded by the mail worker's
    # housekeeping into paced emails, a batch of supporters (after appeal `announce_cursor`) at a time.
    announce_requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    announce_cursor: Mapped[int] = mapped_column(BigInteger, default=0)
    announce_queued: Mapped[int] = mapped_column(Integer, default=0)
    announced_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    case: Mapped[Case] = relationship(back_populates="updates")
    translations: Mapped[list[CaseUpdateTranslation]] = relationship(
        back_populates="update", cascade="all, delete-orphan", lazy="selectin"
    )

    def text_for(self, locale: str) -> tuple[str, str]:
        """The entry's text in `locale`, else in English: (text, language it is in)."""
        by_locale = {t.locale: t.text for t in self.translations if t.text}
        for candidate in (locale, "en"):
            if candidate in by_locale:
                return by_locale[candidate], candidate
        if by_locale:
            return next(iter(by_locale.items()))[::-1]
        return "", locale


class CaseUpdateTranslation(db.Model):
    __tablename__ = "case_update_translations"
    __table_args__ = (UniqueConstraint("update_id", "locale"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    update_id: Mapped[int] = mapped_column(ForeignKey("case_updates.id", ondelete="CASCADE"), index=True)
    locale: Mapped[str] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(Text, default="")

    update: Mapped[CaseUpdate] = relationship(back_populates="translations")


class Target(db.Model):
    """An authority an appeal is addressed to (a minister, a prosecutor, a prison director)."""

    __tablename__ = "targets"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    title: Mapped[str] = mapped_column(String(200), default="")
    language: Mapped[str] = mapped_column(String(16), default="en")
    country: Mapped[str] = mapped_column(String(2))
    # Pacing: at most this many messages per address per hour, so the authority's server does not block us.
    max_per_hour: Mapped[int] = mapped_column(Integer, default=120)
    # Some offices read one email a day with the count and the letters attached rather than one per appeal.
    digest: Mapped[bool] = mapped_column(Boolean, default=False)
    # An admin can pause sending (e.g. when the server starts refusing); queued mail waits.
    paused: Mapped[bool] = mapped_column(Boolean, default=False)

    case: Mapped[Case] = relationship(back_populates="targets")
    addresses: Mapped[list[TargetAddress]] = relationship(
        back_populates="target", cascade="all, delete-orphan", order_by="TargetAddress.id", lazy="selectin"
    )


class TargetAddress(db.Model):
    """One email address of a target. Repeated hard bounces mark it failing; a fallback address can take over."""

    __tablename__ = "target_addresses"
    __table_args__ = (UniqueConstraint("target_id", "email"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    target_id: Mapped[int] = mapped_column(ForeignKey("targets.id", ondelete="CASCADE"), index=True)
    email: Mapped[str] = mapped_column(String(320))
    failing: Mapped[bool] = mapped_column(Boolean, default=False)
    consecutive_bounces: Mapped[int] = mapped_column(Integer, default=0)
    fallback_email: Mapped[str | None] = mapped_column(String(320))

    target: Mapped[Target] = relationship(back_populates="addresses")

    @property
    def delivery_email(self) -> str:
        """Where mail for this address goes now: the fallback once the address is failing and one is set."""
        if self.failing and self.fallback_email:
            return self.fallback_email
        return self.email


class ActionCounter(db.Model):
    """Running totals of actions per case and kind, spread over a few shards.

    Pages read the sum of a handful of rows instead of counting millions of letters; writers increment a
    random shard in their own transaction, so concurrent supporters rarely wait on the same row.
    """

    __tablename__ = "action_counters"
    __table_args__ = (CheckConstraint("kind IN ('appeal', 'solidarity', 'offline')", name="kind"),)

    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    shard: Mapped[int] = mapped_column(Integer, primary_key=True)
    count: Mapped[int] = mapped_column(BigInteger, default=0)
