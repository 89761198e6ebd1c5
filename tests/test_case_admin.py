"""Admins manage cases: create, settings, content per language; every change in the audit trail."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from app.admin import services as accounts
from app.admin.models import AdminEvent
from app.cases.models import Case
from app.extensions import db
from tests.test_admin import PASSWORD, sign_in


@pytest.fixture
def admin(app):
    accounts.create_user("mod@inkwell.example.org", PASSWORD, "moderator")
    user = accounts.create_user("admin@inkwell.example.org", PASSWORD, "admin")
    db.session.commit()
    return user


SETTINGS = {
    "person_name": "Rosa Example",
    "country": "CL",
    "person_language": "es",
    "status": "active",
    "published": "y",
    "goal": "5000",
    "forwarding_contact_name": "Family",
    "forwarding_contact_email": "family@rosa.example.net",
}


def test_moderators_cannot_manage_cases(client, admin):
    sign_in(client)
    assert client.get("/admin/cases/").status_code == 403
    assert client.post("/admin/cases/", data={"slug": "x", "person_name": "X", "country": "FR"}).status_code == 403


def test_an_admin_creates_a_case_in_four_languages_and_publishes_it(client, admin):
    sign_in(client, email="admin@inkwell.example.org")
    response = client.post("/admin/cases/", data={"slug": "rosa-example", "person_name": "Rosa", "country": "CL"})
    assert response.status_code == 302
    case = db.session.scalar(sa.select(Case).where(Case.slug == "rosa-example"))
    assert not case.published
    assert client.get("/en/cases/rosa-example/").status_code == 404  # drafts are not public

    assert client.post(f"/admin/cases/{case.id}/settings", data=SETTINGS).status_code == 302
    for locale, headline in (("en", "Student"), ("fr", "Étudiante"), ("es", "Estudiante"), ("ar", "طالبة")):
        data = {
            f"{locale}-headline": headline,
            f"{locale}-story": f"{headline} story",
            f"{locale}-ask": "Free her",
            f"{locale}-appeal_subject": "Free Rosa",
            f"{locale}-appeal_template": "Dear Minister,",
        }
        assert client.post(f"/admin/cases/{case.id}/content/{locale}", data=data).status_code == 302
    assert "Étudiante" in client.get("/fr/cases/rosa-example/").get_data(as_text=True)
    assert "طالبة" in client.get("/ar/cases/rosa-example/").get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Case, case.id).forwarding_contact_email == "family@rosa.example.net"
    actions = [e.action for e in db.session.scalars(sa.select(AdminEvent).order_by(AdminEvent.id))]
    assert actions[:2] == ["create case", "edit case"] and "edit case content (ar)" in actions
    assert all(e.actor.email == "admin@inkwell.example.org" for e in db.session.scalars(sa.select(AdminEvent)))


def test_bad_input_is_a_form_error(client, admin):
    sign_in(client, email="admin@inkwell.example.org")
    client.post("/admin/cases/", data={"slug": "rosa", "person_name": "Rosa", "country": "CL"})
    duplicate = client.post("/admin/cases/", data={"slug": "rosa", "person_name": "Rosa", "country": "CL"})
    assert duplicate.status_code == 200 and "already uses" in duplicate.get_data(as_text=True)
    bad_slug = client.post("/admin/cases/", data={"slug": "Not A Slug", "person_name": "X", "country": "CL"})
    assert "Invalid input" in bad_slug.get_data(as_text=True)
    case = db.session.scalar(sa.select(Case))
    response = client.post(f"/admin/cases/{case.id}/settings", data={**SETTINGS, "forwarding_contact_email": "nope"})
    assert response.status_code == 400
    assert client.post(f"/admin/cases/{case.id}/content/de", data={}).status_code == 404
