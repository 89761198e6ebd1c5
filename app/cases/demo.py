"""Loading the demo campaign (`flask seed demo`), idempotently: run it twice, get the same rows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select

from app.cases.models import (
    TRANSLATED_FIELDS,
    Case,
    CaseTranslation,
    CaseUpdate,
    CaseUpdateTranslation,
    Target,
    TargetAddress,
)
from app.extensions import db

RESERVED_DOMAINS = ("example.org", "example.com", "example.net")


class DemoDataError(ValueError):
    pass


@dataclass
class SeedReport:
    created: int = 0
    updated: int = 0


def campaign_is_empty() -> bool:
    return not db.session.scalar(select(func.count()).select_from(Case))


def load_demo_campaign(cases: list[dict]) -> SeedReport:
    """Create or refresh each demo case by its slug. Flushes; the caller commits."""
    report = SeedReport()
    for index, data in enumerate(cases):
        _check_reserved_addresses(data)
        case = db.session.scalar(select(Case).where(Case.slug == data["slug"]))
        if case is None:
            case = Case(slug=data["slug"])
            db.session.add(case)
            report.created += 1
        else:
            report.updated += 1
        _apply_case(case, data, index)
        db.session.flush()
    return report


def _check_reserved_addresses(data: dict) -> None:
    addresses = [a for t in data.get("targets", []) for a in t["addresses"]]
    contact = data.get("forwarding_contact") or {}
    if contact.get("email"):
        addresses.append(contact["email"])
    for address in addresses:
        domain = address.rsplit("@", 1)[-1].lower()
        if not any(domain == d or domain.endswith("." + d) for d in RESERVED_DOMAINS):
            raise DemoDataError(f"demo address {address!r} is not on a reserved domain")
    if data["status"] == "success" and data.get("targets"):
        raise DemoDataError(f"{data['slug']}: real people's cases carry no target addresses")


def _apply_case(case: Case, data: dict, index: int) -> None:
    contact = data.get("forwarding_contact") or {}
    case.person_name = data["person_name"]
    case.country = data["country"]
    case.status = data["status"]
    case.person_language = data["person_language"]
    case.prior_actions = data.get("prior_actions", 0)
    case.goal = data.get("goal", 0)
    case.wall_public = data.get("wall_public", False)
    case.forwarding_contact_name = contact.get("name")
    case.forwarding_contact_email = contact.get("email")
    case.sort_order = index
    case.published = True

    existing = {t.locale: t for t in case.translations}
    for locale, fields in data["content"].items():
        translation = existing.get(locale)
        if translation is None:
            translation = CaseTranslation(locale=locale)
            case.translations.append(translation)
        for name in TRANSLATED_FIELDS:
            setattr(translation, name, fields.get(name, ""))

    updates = {(u.happened_on, u.kind): u for u in case.updates}
    for entry in data.get("updates", []):
        key = (date.fromisoformat(entry["date"]), entry["kind"])
        update = updates.get(key)
        if update is None:
            update = CaseUpdate(happened_on=key[0], kind=key[1])
            case.updates.append(update)
        update.precision = entry.get("precision", "day")
        texts = {t.locale: t for t in update.translations}
        for locale, text in entry["text"].items():
            if locale in texts:
                texts[locale].text = text
            else:
                update.translations.append(CaseUpdateTranslation(locale=locale, text=text))

    targets = {t.name: t for t in case.targets}
    for entry in data.get("targets", []):
        target = targets.get(entry["name"])
        if target is None:
            target = Target(name=entry["name"])
            case.targets.append(target)
        target.title = entry.get("title", "")
        target.language = entry.get("language", "en")
        target.country = entry.get("country", case.country)
        target.max_per_hour = entry.get("max_per_hour", 120)
        target.digest = entry.get("digest", False)
        known = {a.email for a in target.addresses}
        for email in entry["addresses"]:
            if email not in known:
                target.addresses.append(TargetAddress(email=email))
