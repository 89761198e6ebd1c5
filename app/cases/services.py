"""Reading the campaign (cases, their content in a language, their totals) and counting actions."""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass, field

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload, selectinload

from app.addresses import AddressError, accepted_address
from app.cases.models import (
    COUNTER_KINDS,
    TRANSLATED_FIELDS,
    ActionCounter,
    Case,
    CaseTranslation,
    CaseUpdate,
    CaseUpdateTranslation,
    Target,
    TargetAddress,
)
from app.extensions import db, upsert_insert

COUNTER_SHARDS = 8
SOURCE_LOCALE = "en"


class CaseNotFound(LookupError):
    pass


@dataclass(frozen=True)
class LocalizedText:
    """A piece of case content and the language it is actually in (the English fallback says `en`)."""

    text: str
    lang: str

    def __bool__(self) -> bool:
        return bool(self.text)

    def __str__(self) -> str:
        return self.text

    @property
    def paragraphs(self) -> list[str]:
        return [p.strip() for p in self.text.replace("\r\n", "\n").split("\n\n") if p.strip()]


@dataclass
class CaseTotals:
    appeals: int = 0
    solidarity: int = 0
    offline: int = 0
    prior: int = 0

    @property
    def actions(self) -> int:
        return self.appeals + self.solidarity + self.offline + self.prior


@dataclass
class CaseView:
    """What a page needs of a case, in one language."""

    case: Case
    content: dict[str, LocalizedText]
    totals: CaseTotals = field(default_factory=CaseTotals)

    @property
    def progress_percent(self) -> int:
        goal = self.case.goal
        if not goal:
            return 0
        return min(100, int(self.totals.actions * 100 / goal))


def localized_content(case: Case, locale: str) -> dict[str, LocalizedText]:
    """Each translated field in `locale`, falling back field by field to English."""
    wanted = case.translation(locale)
    source = case.translation(SOURCE_LOCALE)
    content = {}
    for name in TRANSLATED_FIELDS:
        text = getattr(wanted, name, "") if wanted else ""
        if text:
            content[name] = LocalizedText(text, locale)
        else:
            content[name] = LocalizedText(getattr(source, name, "") if source else "", SOURCE_LOCALE)
    return content


def published_cases(status: str | None = None, country: str | None = None) -> list[Case]:
    query = select(Case).where(Case.published.is_(True))
    if status:
        query = query.where(Case.status == status)
    if country:
        query = query.where(Case.country == country.upper())
    query = query.order_by(Case.status, Case.sort_order, Case.id)
    return list(db.session.scalars(query))


def published_countries() -> list[str]:
    query = select(Case.country).where(Case.published.is_(True)).distinct()
    return list(db.session.scalars(query))


def case_views(cases: list[Case], locale: str) -> list[CaseView]:
    totals = totals_for([c.id for c in cases])
    return [CaseView(case, localized_content(case, locale), _with_prior(totals.get(case.id), case)) for case in cases]


def get_published_case(slug: str, with_timeline: bool = True) -> Case:
    """A published case with its translations and targets (and its timeline, for the case page)."""
    # One round trip for the case, its translations and its targets (a handful of rows).
    options = [joinedload(Case.translations), joinedload(Case.targets).joinedload(Target.addresses)]
    if with_timeline:
        options.append(selectinload(Case.updates).selectinload(CaseUpdate.translations))
    query = select(Case).where(Case.slug == slug, Case.published.is_(True)).options(*options)
    case = db.session.execute(query).unique().scalar_one_or_none()
    if case is None:
        raise CaseNotFound(slug)
    return case


def case_view(case: Case, locale: str) -> CaseView:
    return case_views([case], locale)[0]


def _with_prior(totals: CaseTotals | None, case: Case) -> CaseTotals:
    totals = totals or CaseTotals()
    totals.prior = case.prior_actions or 0
    return totals


def totals_for(case_ids: list[int]) -> dict[int, CaseTotals]:
    """Action totals per case from the sharded counters: a few rows per case, whatever the number of letters.
    A case with nothing counted yet is absent."""
    if not case_ids:
        return {}
    rows = db.session.execute(
        select(ActionCounter.case_id, ActionCounter.kind, func.sum(ActionCounter.count))
        .where(ActionCounter.case_id.in_(case_ids))
        .group_by(ActionCounter.case_id, ActionCounter.kind)
    )
    totals: dict[int, CaseTotals] = defaultdict(CaseTotals)
    for case_id, kind, count in rows:
        setattr(totals[case_id], _TOTAL_FIELD[kind], int(count or 0))
    return dict(totals)


_TOTAL_FIELD = {"appeal": "appeals", "solidarity": "solidarity", "offline": "offline"}


def campaign_total() -> int:
    """Every action on every published case, with the totals recorded before the platform."""
    counted = db.session.scalar(
        select(func.coalesce(func.sum(ActionCounter.count), 0))
        .join(Case, Case.id == ActionCounter.case_id)
        .where(Case.published.is_(True))
    )
    prior = db.session.scalar(select(func.coalesce(func.sum(Case.prior_actions), 0)).where(Case.published.is_(True)))
    return int(counted or 0) + int(prior or 0)


def record_action(case_id: int, kind: str, amount: int = 1) -> None:
    """Add to a case's counter in the caller's transaction (flushed, not committed)."""
    if kind not in COUNTER_KINDS:
        raise ValueError(f"unknown counter kind {kind!r}")
    shard = random.randrange(COUNTER_SHARDS)  # noqa: S311 - spreading writes, not security
    statement = upsert_insert(ActionCounter).values(case_id=case_id, kind=kind, shard=shard, count=amount)
    statement = statement.on_conflict_do_update(
        index_elements=["case_id", "kind", "shard"],
        set_={"count": ActionCounter.count + statement.excluded.count},
    )
    db.session.execute(statement)


# --- editing (admins) -----------------------------------------------------------------------------------------

CASE_SETTINGS = (
    "person_name",
    "country",
    "person_language",
    "status",
    "published",
    "goal",
    "wall_public",
    "forwarding_contact_name",
    "forwarding_contact_email",
)


class CaseEditError(ValueError):
    pass


def create_case(slug: str, person_name: str, country: str) -> Case:
    if db.session.scalar(select(Case).where(Case.slug == slug)):
        raise CaseEditError(f"a case already uses the address {slug!r}")
    case = Case(slug=slug, person_name=person_name, country=country.upper(), published=False)
    db.session.add(case)
    db.session.flush()
    return case


def update_case(case: Case, values: dict) -> list[str]:
    """Change a case's settings; returns the names of what changed (for the audit trail).

    Queued emails keep the text they were composed with: editing a case never rewrites what is already queued.
    """
    changed = []
    for name in CASE_SETTINGS:
        if name in values and getattr(case, name) != values[name]:
            setattr(case, name, values[name])
            changed.append(name)
    db.session.flush()
    return changed


def save_translation(case: Case, locale: str, fields: dict) -> list[str]:
    translation = case.translation(locale)
    if translation is None:
        translation = CaseTranslation(locale=locale)
        case.translations.append(translation)
    changed = []
    for name in TRANSLATED_FIELDS:
        value = (fields.get(name) or "").strip()
        if (getattr(translation, name) or "") != value:
            setattr(translation, name, value)
            changed.append(name)
    db.session.flush()
    return changed


TARGET_SETTINGS = ("name", "title", "language", "country", "max_per_hour", "digest", "paused")


def save_target(case: Case, target: Target | None, values: dict, emails: list[str]) -> tuple[Target, list[str]]:
    """Create or change one of a case's targets and its list of addresses; returns what changed.

    Messages already in the outbox keep their composed text and recipient. An address with appeals waiting for its
    daily digest cannot be removed (they would never be sent): the admin pauses the target or waits for the digest.
    """
    changed = []
    if target is None:
        target = Target(case=case, name=values["name"], country=values["country"])
        db.session.add(target)
        changed.append("created")
    for name in TARGET_SETTINGS:
        if name in values and getattr(target, name) != values[name]:
            setattr(target, name, values[name])
            changed.append(name)
    wanted = list(dict.fromkeys(email.strip().lower() for email in emails if email.strip()))
    current = {address.email: address for address in target.addresses}
    for email, address in current.items():
        if email not in wanted:
            _check_removable([address])
            target.addresses.remove(address)
            changed.append(f"removed {email}")
    for email in wanted:
        if email not in current:
            target.addresses.append(TargetAddress(email=email))
            changed.append(f"added {email}")
    db.session.flush()
    return target, changed


def remove_target(target: Target) -> None:
    _check_removable(target.addresses)
    db.session.delete(target)
    db.session.flush()


def register_removal_guard(app, guard) -> None:
    """Let a feature that builds on cases keep an authority address from being removed: `guard(address_ids)`
    returns why not (shown to the admin), or None. Appeals use it for letters waiting for a daily digest."""
    app.extensions.setdefault("inkwell_address_guards", []).append(guard)


def _check_removable(addresses) -> None:
    ids = [address.id for address in addresses if address.id is not None]
    if not ids:
        return
    for guard in current_app.extensions.get("inkwell_address_guards", []):
        reason = guard(ids)
        if reason:
            raise CaseEditError(reason)


def save_timeline_entry(case: Case, entry: CaseUpdate | None, values: dict, texts: dict[str, str]) -> CaseUpdate:
    """Create or change a dated entry on a case's timeline, with its text in each language given."""
    if entry is None:
        entry = CaseUpdate(case=case)
        db.session.add(entry)
    entry.happened_on = values["happened_on"]
    entry.precision = values["precision"]
    entry.kind = values["kind"]
    by_locale = {translation.locale: translation for translation in entry.translations}
    for locale, text in texts.items():
        text = (text or "").strip()
        if locale in by_locale:
            if text:
                by_locale[locale].text = text
            else:
                entry.translations.remove(by_locale[locale])
        elif text:
            entry.translations.append(CaseUpdateTranslation(locale=locale, text=text))
    db.session.flush()
    return entry


def remove_timeline_entry(entry: CaseUpdate) -> None:
    db.session.delete(entry)
    db.session.flush()


# --- steering an authority's mail (operators: flask mail pause|resume|fallback) ----------------------------------


def set_target_paused(target_id: int, paused: bool) -> Target:
    target = db.session.get(Target, target_id)
    if target is None:
        raise LookupError(target_id)
    target.paused = paused
    db.session.flush()
    return target


def set_fallback_address(address: str, fallback: str | None) -> TargetAddress:
    """Route an authority address's mail to a fallback (queued messages included), or stop doing so."""
    row = db.session.scalar(select(TargetAddress).where(TargetAddress.email == address))
    if row is None:
        raise LookupError(f"no authority address {address!r} (see flask mail targets)")
    if fallback:
        try:
            fallback = accepted_address(fallback)
        except AddressError as error:
            if error.code == "non_ascii_mailbox":
                raise ValueError(f"{fallback!r} has a mailbox name that many servers cannot deliver to") from None
            raise ValueError(f"{fallback!r} is not an email address") from None
    row.fallback_email = fallback or None
    # With a fallback, it takes over; without one, the address is treated as repaired and tried again.
    row.failing = bool(fallback)
    if not fallback:
        row.consecutive_bounces = 0
    db.session.flush()
    return row
