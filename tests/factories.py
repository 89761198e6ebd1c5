"""Rows for tests, built through the models with sensible defaults."""

from __future__ import annotations

import itertools
from datetime import date

from app.cases.models import Case, CaseTranslation, CaseUpdate, CaseUpdateTranslation, Target, TargetAddress
from app.extensions import db

_sequence = itertools.count(1)


def make_case(
    *,
    slug: str | None = None,
    person_name: str = "Ana Example",
    country: str = "PT",
    status: str = "active",
    published: bool = True,
    goal: int = 1000,
    prior_actions: int = 0,
    content: dict[str, dict[str, str]] | None = None,
    targets: list[dict] | None = None,
    **fields,
) -> Case:
    n = next(_sequence)
    case = Case(
        slug=slug or f"case-{n}",
        person_name=person_name,
        country=country,
        status=status,
        published=published,
        goal=goal,
        prior_actions=prior_actions,
        person_language=fields.pop("person_language", "pt"),
        **fields,
    )
    content = content or {
        "en": {
            "headline": f"Peaceful protester {n}",
            "story": f"Story of case {n}.\n\nSecond paragraph.",
            "ask": "Release them now.",
            "appeal_subject": f"Free {person_name}",
            "appeal_template": f"Dear Minister,\n\nPlease release {person_name}.\n\nYours sincerely,",
        }
    }
    for locale, values in content.items():
        case.translations.append(CaseTranslation(locale=locale, **values))
    for target in targets if targets is not None else [{"name": "Ministry of Justice"}]:
        addresses = target.pop("addresses", [f"minister{n}@justice.example.org"])
        row = Target(country=target.pop("country", country), **target)
        row.addresses = [TargetAddress(email=a) for a in addresses]
        case.targets.append(row)
    db.session.add(case)
    db.session.flush()
    return case


def add_update(case: Case, when: date, kind: str, texts: dict[str, str], precision: str = "day") -> CaseUpdate:
    update = CaseUpdate(happened_on=when, kind=kind, precision=precision)
    update.translations = [CaseUpdateTranslation(locale=loc, text=t) for loc, t in texts.items()]
    case.updates.append(update)
    db.session.flush()
    return update


STAFF_PASSWORD = "correct horse battery staple"


def make_staff(email: str = "mod@inkwell.example.org", role: str = "moderator", password: str | None = None):
    """A staff account (moderator or admin) with a long enough password."""
    from app.staff import services as accounts

    return accounts.create_user(email, password or STAFF_PASSWORD, role)


def sign_in(client, email: str = "mod@inkwell.example.org", password: str = STAFF_PASSWORD, next_url=None, **data):
    """Post the sign-in form as staff would; returns the response (302 when it worked)."""
    url = "/admin/login" + (f"?next={next_url}" if next_url else "")
    return client.post(url, data={"email": email, "password": password, **data})


def make_hope(case: Case, message: str = "You are not alone.", **fields):
    """A message of hope on `case`, pending unless told otherwise."""
    from app.solidarity.models import SolidarityLetter

    letter = SolidarityLetter(
        case_id=case.id,
        first_name=fields.pop("first_name", "Jane"),
        country=fields.pop("country", "FR"),
        language=fields.pop("language", "en"),
        message=message,
        **fields,
    )
    db.session.add(letter)
    db.session.flush()
    return letter


def make_appeal(case: Case, n: int, **fields):
    """A confirmed appeal (written straight to the table, without the form), number `n` of a test's supporters."""
    from app.appeals.models import Appeal
    from app.models_base import utcnow

    values = {
        "public_id": f"p{n}",
        "case_id": case.id,
        "name": f"S{n}",
        "email": f"s{n}@example.net",
        "email_digest": f"d{n}",
        "country": "FR",
        "locale": "en",
        "letter_language": "en",
        "subject": "Free Ana",
        "letter": "x",
        "consent_share": True,
        "state": "confirmed",
        "created_at": utcnow(),
        **fields,
    }
    appeal = Appeal(**values)
    db.session.add(appeal)
    db.session.flush()
    return appeal
