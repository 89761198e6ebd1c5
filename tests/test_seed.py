"""`flask seed demo`: the demo campaign, loaded twice without duplicates, and never a real address."""

from __future__ import annotations

import sqlalchemy as sa

from app.cases.demo_content import DEMO_CASES
from app.cases.models import Case, CaseTranslation, CaseUpdate, Target, TargetAddress
from app.extensions import db

RESERVED = ("example.org", "example.com", "example.net")


def _counts():
    return {
        model.__name__: db.session.scalar(sa.select(sa.func.count()).select_from(model))
        for model in (Case, CaseTranslation, CaseUpdate, Target, TargetAddress)
    }


def test_seeding_twice_creates_no_duplicates(runner):
    first = runner.invoke(args=["seed", "demo"])
    assert first.exit_code == 0, first.output
    after_first = _counts()
    second = runner.invoke(args=["seed", "demo"])
    assert second.exit_code == 0, second.output
    assert "0 cases created" in second.output
    assert _counts() == after_first
    assert after_first["Case"] == len(DEMO_CASES)


def test_if_empty_leaves_an_existing_campaign_alone(runner, demo):
    before = _counts()
    result = runner.invoke(args=["seed", "demo", "--if-empty"])
    assert result.exit_code == 0
    assert "already" in result.output
    assert _counts() == before


def test_demo_has_the_four_success_stories_and_fictional_active_cases(demo):
    cases = {c.slug: c for c in db.session.scalars(sa.select(Case))}
    successes = [c for c in cases.values() if c.status == "success"]
    active = [c for c in cases.values() if c.status == "active"]
    assert sorted(c.person_name for c in successes) == [
        "Khaled Drareni",
        "Nassima al-Sada",
        "Phyoe Phyoe Aung",
        "Yecenia Armenta",
    ]
    assert len(active) >= 3
    assert next(c for c in successes if c.person_name == "Nassima al-Sada").prior_actions == 777611
    for case in successes:
        assert case.targets == [], f"{case.person_name} must carry no target address"
    for case in active:
        assert case.targets, f"{case.slug} has no target"


def test_every_demo_address_is_on_a_reserved_domain(demo):
    emails = list(db.session.scalars(sa.select(TargetAddress.email)))
    emails += [e for e in db.session.scalars(sa.select(Case.forwarding_contact_email)) if e]
    assert emails
    for email in emails:
        domain = email.rsplit("@", 1)[1]
        assert domain.endswith(RESERVED), email


def test_every_demo_case_is_written_in_four_languages(demo):
    for case in db.session.scalars(sa.select(Case)):
        assert {t.locale for t in case.translations} == {"en", "fr", "es", "ar"}, case.slug


def test_seed_refuses_a_real_looking_address(app):
    from app.cases.demo import DemoDataError, load_demo_campaign

    bad = dict(DEMO_CASES[-1], slug="bad", status="active")
    bad["targets"] = [{"name": "Real office", "addresses": ["minister@gov.example.gov"]}]
    try:
        load_demo_campaign([bad])
    except DemoDataError as error:
        assert "reserved" in str(error)
    else:
        raise AssertionError("a non-reserved address was accepted")


def test_demo_pages_render_in_every_language(client, demo):
    for locale in ("en", "fr", "es", "ar"):
        for case in db.session.scalars(sa.select(Case)):
            response = client.get(f"/{locale}/cases/{case.slug}/")
            assert response.status_code == 200, (locale, case.slug)
