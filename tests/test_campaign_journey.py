"""An admin runs a whole campaign from the browser: a case in four languages with two targets, appeals flowing, a
failing target paused, the figures exported, old personal data purged, and every count unchanged by the purge."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.appeals.models import Appeal
from app.cases import services as cases
from app.cases.models import Case
from app.extensions import db
from app.mail.models import OutboundMessage
from app.mail.worker import Worker
from app.models_base import utcnow
from app.staff import services as accounts
from app.staff.models import AdminEvent
from tests.factories import STAFF_PASSWORD, sign_in
from tests.test_appeals import confirm_link, form_data, outbox


@pytest.fixture
def app_config(smtp_server):
    return {"MAIL_PORT": smtp_server.port, "MAIL_TIMEOUT": 5}


CONTENT = {
    "en": ("Student and poet", "Free Rosa", "Dear Minister,\n\nPlease free Rosa.\n\nYours sincerely,"),
    "fr": ("Étudiante et poète", "Libérez Rosa", "Monsieur le Ministre,\n\nLibérez Rosa.\n\nCordialement,"),
    "es": ("Estudiante y poeta", "Liberen a Rosa", "Señor Ministro:\n\nLibere a Rosa.\n\nAtentamente,"),
    "ar": ("طالبة وشاعرة", "أطلقوا سراح روزا", "السيد الوزير،\n\nأطلقوا سراح روزا.\n\nمع التحية،"),
}


def test_an_admin_runs_a_campaign_from_the_browser(app, client, smtp_server):
    accounts.create_user("admin@inkwell.example.org", STAFF_PASSWORD, "admin")
    db.session.commit()
    admin = app.test_client()
    sign_in(admin, email="admin@inkwell.example.org")

    # A case in four languages with two targets, published.
    new_case = {"slug": "rosa", "person_name": "Rosa Example", "country": "CL"}
    assert admin.post("/admin/cases/", data=new_case).status_code == 302
    case = db.session.scalar(sa.select(Case).where(Case.slug == "rosa"))
    settings = {
        "person_name": "Rosa Example",
        "country": "CL",
        "person_language": "es",
        "status": "active",
        "published": "y",
        "goal": "100",
    }
    assert admin.post(f"/admin/cases/{case.id}/settings", data=settings).status_code == 302
    for locale, (headline, subject, template) in CONTENT.items():
        data = {
            f"{locale}-headline": headline,
            f"{locale}-story": headline,
            f"{locale}-ask": subject,
            f"{locale}-appeal_subject": subject,
            f"{locale}-appeal_template": template,
        }
        assert admin.post(f"/admin/cases/{case.id}/content/{locale}", data=data).status_code == 302
    target = {
        "name": "Ministry of Justice",
        "language": "es",
        "country": "CL",
        "max_per_hour": "1000",
        "addresses": "minister@justice.example.org",
    }
    assert admin.post(f"/admin/cases/{case.id}/targets/new", data=target).status_code == 302
    failing = {**target, "name": "Prison director", "addresses": "director@prison.example.org"}
    assert admin.post(f"/admin/cases/{case.id}/targets/new", data=failing).status_code == 302
    for locale, (headline, _, _) in CONTENT.items():
        assert headline in client.get(f"/{locale}/cases/rosa/").get_data(as_text=True)

    # Appeals flow: two supporters write and confirm; the worker delivers; one server refuses its address.
    smtp_server.behaviour.rcpt["director@prison.example.org"] = "550 5.1.1 No such user"
    for n, locale in enumerate(("en", "ar")):
        email_address = f"supporter{n}@example.net"
        client.post(f"/{locale}/cases/rosa/appeal/", data=form_data(email=email_address, letter_language=locale))
        [confirmation] = [m for m in outbox("confirmation") if m.recipient == email_address]
        assert client.post(confirm_link(confirmation)).status_code in (200, 302)
    Worker(app).run(drain=True)
    db.session.expire_all()
    delivered = sorted((m.recipient, m.state) for m in outbox("appeal"))
    assert delivered == [("director@prison.example.org", "failed")] * 2 + [("minister@justice.example.org", "sent")] * 2

    # The delivery watch shows the failing target with the server's reply; the admin pauses it.
    watch = admin.get("/admin/delivery").get_data(as_text=True)
    assert "550 5.1.1 No such user" in watch and "Prison director" in watch
    director = next(t for t in db.session.get(Case, case.id).targets if t.name == "Prison director")
    assert admin.post(f"/admin/delivery/targets/{director.id}/pause").status_code == 302
    db.session.expire_all()
    assert db.session.get(type(director), director.id).paused

    # The figures, exported.
    exported = admin.get("/admin/exports/appeals.csv")
    rows = list(csv.reader(io.StringIO(exported.get_data().decode("utf-8-sig"))))
    assert sum(int(row[-1]) for row in rows[1:] if row[0] == "rosa") == 2

    # Old personal data purged from the browser; the counts do not move.
    long_ago = utcnow() - timedelta(days=app.config["PRIVACY_RETENTION_DAYS"] + 1)
    db.session.execute(sa.update(Appeal).values(confirmed_at=long_ago, created_at=long_ago))
    db.session.execute(sa.update(OutboundMessage).values(created_at=long_ago))
    db.session.commit()
    before = cases.totals_for([case.id])[case.id]
    assert before.appeals == 2
    dashboard_before = admin.get("/admin/dashboard").get_data(as_text=True)
    export_before = admin.get("/admin/exports/appeals.csv").get_data(as_text=True)
    purged = admin.post("/admin/privacy/purge", follow_redirects=True).get_data(as_text=True)
    assert "2 items erased." in purged  # the two appeals' names, addresses and letters
    db.session.expire_all()
    assert all(a.erased_at is not None and a.email == "" for a in db.session.scalars(sa.select(Appeal)))
    assert cases.totals_for([case.id])[case.id] == before
    assert admin.get("/admin/dashboard").get_data(as_text=True) == dashboard_before
    exported_after = admin.get("/admin/exports/appeals.csv").get_data(as_text=True)
    assert exported_after == export_before

    # Every change is in the audit trail.
    actions = {e.action for e in db.session.scalars(sa.select(AdminEvent))}
    assert {"create case", "edit case", "edit target", "pause target", "purge personal data"} <= actions


def test_the_privacy_page_is_for_admins_and_erases_one_supporter_without_logging_the_address(app, client):
    accounts.create_user("admin@inkwell.example.org", STAFF_PASSWORD, "admin")
    accounts.create_user("mod@inkwell.example.org", STAFF_PASSWORD, "moderator")
    db.session.commit()
    sign_in(client)
    assert client.get("/admin/privacy/").status_code == 403
    client.post("/admin/logout")
    sign_in(client, email="admin@inkwell.example.org")
    bad = client.post("/admin/privacy/erase", data={"email": "not an address"})
    assert bad.status_code == 400
    assert client.post("/admin/privacy/erase", data={"email": "jane@example.net"}).status_code == 302
    [event] = [e for e in db.session.scalars(sa.select(AdminEvent)) if e.action == "erase a supporter's data"]
    assert "jane" not in event.details
    page = client.get("/admin/privacy/").get_data(as_text=True)
    assert "a supporter’s request" in page and "jane@example.net" not in page
