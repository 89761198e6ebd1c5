"""Admins manage cases: create, settings, content per language; every change in the audit trail."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from app.cases.models import Case
from app.extensions import db
from app.staff.models import AdminEvent
from tests.factories import sign_in


@pytest.fixture
def admin(staff):
    return staff[1]


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


# --- targets and timeline ---------------------------------------------------------------------------------------

TARGET = {
    "name": "Ministry of the Interior",
    "title": "Minister of the Interior",
    "language": "es",
    "country": "CL",
    "addresses": "minister@interior.example.org\nOffice@Interior.example.org\n",
    "max_per_hour": "60",
}


def _appeal(client, email_address="jane@example.net", news=True):
    from tests.test_appeals import confirm_link, form_data, outbox

    client.post("/en/cases/ana/appeal/", data=form_data(email=email_address, consent_updates="y" if news else None))
    [confirmation] = [m for m in outbox("confirmation") if m.recipient == email_address]
    client.post(confirm_link(confirmation))


def test_an_admin_adds_two_targets_and_appeals_go_to_each_address(client, admin):
    from tests.factories import make_case
    from tests.test_appeals import outbox

    case = make_case(slug="ana", targets=[])
    db.session.commit()
    sign_in(client, email="admin@inkwell.example.org")
    assert client.get(f"/admin/cases/{case.id}/targets/new").status_code == 200
    assert client.post(f"/admin/cases/{case.id}/targets/new", data=TARGET).status_code == 302
    second = {**TARGET, "name": "Prosecutor", "addresses": "prosecutor@justice.example.org"}
    assert client.post(f"/admin/cases/{case.id}/targets/new", data=second).status_code == 302
    db.session.expire_all()
    targets = db.session.get(Case, case.id).targets
    assert [t.name for t in targets] == ["Ministry of the Interior", "Prosecutor"]
    assert [a.email for a in targets[0].addresses] == ["minister@interior.example.org", "office@interior.example.org"]
    assert targets[0].max_per_hour == 60 and targets[0].language == "es"
    page = client.get(f"/admin/cases/{case.id}").get_data(as_text=True)
    assert "office@interior.example.org" in page and "Prosecutor" in page

    client.post("/admin/logout")
    _appeal(client)
    assert sorted(m.recipient for m in outbox("appeal")) == [
        "minister@interior.example.org",
        "office@interior.example.org",
        "prosecutor@justice.example.org",
    ]
    events = [e.action for e in db.session.scalars(sa.select(AdminEvent))]
    assert events.count("edit target") == 2


def test_editing_a_target_never_changes_what_is_queued(client, admin):
    from tests.factories import make_case
    from tests.test_appeals import outbox

    case = make_case(slug="ana", targets=[{"name": "Ministry", "addresses": ["old@justice.example.org"]}])
    db.session.commit()
    _appeal(client)
    [queued] = outbox("appeal")
    raw = queued.raw
    sign_in(client, email="admin@inkwell.example.org")
    target = case.targets[0]
    edit = client.get(f"/admin/cases/{case.id}/targets/{target.id}").get_data(as_text=True)
    assert "old@justice.example.org" in edit  # the form comes prefilled
    response = client.post(
        f"/admin/cases/{case.id}/targets/{target.id}",
        data={**TARGET, "name": "Ministry (new name)", "addresses": "new@justice.example.org", "paused": "y"},
    )
    assert response.status_code == 302
    [still] = outbox("appeal")
    assert still.state == "pending" and still.recipient == "old@justice.example.org" and still.raw == raw
    db.session.expire_all()
    target = db.session.get(Case, case.id).targets[0]
    assert target.paused and [a.email for a in target.addresses] == ["new@justice.example.org"]
    [event] = [e for e in db.session.scalars(sa.select(AdminEvent)) if e.action == "edit target"]
    assert "removed old@justice.example.org" in event.details and "added new@justice.example.org" in event.details


def test_target_form_errors_and_tampered_ids(client, admin):
    from tests.factories import make_case

    case = make_case(slug="ana")
    other = make_case(slug="other")
    db.session.commit()
    sign_in(client, email="admin@inkwell.example.org")
    bad = client.post(f"/admin/cases/{case.id}/targets/new", data={**TARGET, "addresses": "not-an-address"})
    assert bad.status_code == 400 and "not-an-address is not a valid email address" in bad.get_data(as_text=True)
    empty = client.post(f"/admin/cases/{case.id}/targets/new", data={**TARGET, "addresses": "  \n "})
    assert empty.status_code == 400
    assert client.post(f"/admin/cases/{case.id}/targets/new", data={**TARGET, "language": "zz-nope"}).status_code == 400
    foreign = other.targets[0].id
    assert client.get(f"/admin/cases/{case.id}/targets/{foreign}").status_code == 404
    assert client.post(f"/admin/cases/{case.id}/targets/{foreign}/remove").status_code == 404
    db.session.expire_all()
    assert len(db.session.get(Case, case.id).targets) == 1

    assert client.post(f"/admin/cases/{case.id}/targets/{case.targets[0].id}/remove").status_code == 302
    db.session.expire_all()
    assert db.session.get(Case, case.id).targets == []
    assert "remove target" in [e.action for e in db.session.scalars(sa.select(AdminEvent))]


def test_targets_and_timeline_are_for_admins_only(client, admin):
    from tests.factories import make_case

    case = make_case(slug="ana")
    db.session.commit()
    for url in (f"/admin/cases/{case.id}/targets/new", f"/admin/cases/{case.id}/timeline/new"):
        assert client.get(url).status_code == 302  # to the sign-in page
    sign_in(client)  # a moderator
    assert client.post(f"/admin/cases/{case.id}/targets/new", data=TARGET).status_code == 403
    assert client.get(f"/admin/cases/{case.id}/timeline/new").status_code == 403
    client.post("/admin/logout")
    sign_in(client, email="admin@inkwell.example.org")
    client.application.config["WTF_CSRF_ENABLED"] = True
    try:
        assert client.post(f"/admin/cases/{case.id}/targets/new", data=TARGET).status_code == 400
    finally:
        client.application.config["WTF_CSRF_ENABLED"] = False
    db.session.expire_all()
    assert len(db.session.get(Case, case.id).targets) == 1


def test_a_timeline_entry_in_two_languages_is_announced_once_to_the_supporters_who_asked(client, admin):
    from app.appeals import services as appeals
    from tests.factories import make_case
    from tests.test_appeals import outbox

    case = make_case(slug="ana")
    db.session.commit()
    _appeal(client, "a@example.net")
    _appeal(client, "b@example.net")
    _appeal(client, "quiet@example.net", news=False)
    sign_in(client, email="admin@inkwell.example.org")
    missing_english = client.post(
        f"/admin/cases/{case.id}/timeline/new",
        data={"happened_on": "2026-12-20", "precision": "day", "kind": "release", "text_fr": "Libérée !"},
    )
    assert missing_english.status_code == 400 and "in English at least" in missing_english.get_data(as_text=True)
    response = client.post(
        f"/admin/cases/{case.id}/timeline/new",
        data={
            "happened_on": "2026-12-20",
            "precision": "day",
            "kind": "release",
            "text_en": "Ana was released today.",
            "text_fr": "Ana a été libérée aujourd'hui.",
            "announce": "y",
        },
    )
    assert response.status_code == 302
    assert "Ana a été libérée aujourd&#39;hui." in client.get("/fr/cases/ana/").get_data(as_text=True)
    assert outbox("impact") == []  # the request only asks; the worker's housekeeping writes the emails

    assert appeals.send_due_announcements() == 2
    assert appeals.send_due_announcements() == 0
    assert sorted(m.recipient for m in outbox("impact")) == ["a@example.net", "b@example.net"]
    actions = [e.action for e in db.session.scalars(sa.select(AdminEvent))]
    assert "edit timeline" in actions and "announce to supporters" in actions
    page = client.get(f"/admin/cases/{case.id}").get_data(as_text=True)
    assert "Ana was released today." in page

    # Editing the entry later does not announce it twice.
    [entry] = db.session.get(Case, case.id).updates
    edit = client.get(f"/admin/cases/{case.id}/timeline/{entry.id}").get_data(as_text=True)
    assert "Ana a été libérée" in edit and 'name="announce"' not in edit
    client.post(
        f"/admin/cases/{case.id}/timeline/{entry.id}",
        data={"happened_on": "2026-12-21", "precision": "day", "kind": "release", "text_en": "Free.", "announce": "y"},
    )
    assert appeals.send_due_announcements() == 0 and len(outbox("impact")) == 2
    db.session.expire_all()
    entry = db.session.get(Case, case.id).updates[0]
    assert [t.locale for t in entry.translations] == ["en"]  # the emptied French text is gone, English shows

    assert client.post(f"/admin/cases/{case.id}/timeline/{entry.id}/remove").status_code == 302
    db.session.expire_all()
    assert db.session.get(Case, case.id).updates == []


def test_announcements_are_written_in_batches_and_paced(app, monkeypatch):
    from datetime import date

    from app.appeals import services as appeals
    from app.appeals.services import announcements
    from tests.factories import add_update, make_appeal, make_case
    from tests.test_appeals import outbox

    monkeypatch.setattr(announcements, "ANNOUNCE_BATCH", 3)
    app.config["IMPACT_EMAILS_PER_MINUTE"] = 60
    case = make_case(slug="ana")
    for n in range(7):
        make_appeal(case, n, consent_updates=True)
    entry = add_update(case, date(2026, 12, 20), "trial", {"en": "The trial opens."})
    assert appeals.request_announcement(entry) and not appeals.request_announcement(entry)
    db.session.commit()
    assert appeals.send_due_announcements(max_batches=1) == 3
    assert entry.announced_at is None and entry.announce_queued == 3
    assert appeals.send_due_announcements() == 4
    assert entry.announced_at is not None
    times = sorted(m.next_attempt_at for m in outbox("impact"))
    assert len(times) == 7 and (times[-1] - times[0]).total_seconds() == pytest.approx(6 * 60 / 60)


def test_the_changes_page_speaks_the_admins_language(client, admin):
    from app.admin.labels import ACTION_LABELS, action_label

    sign_in(client, email="admin@inkwell.example.org")
    client.post("/admin/cases/", data={"slug": "rosa", "person_name": "Rosa", "country": "CL"})
    case = db.session.scalar(sa.select(Case))
    client.post(f"/admin/cases/{case.id}/content/ar", data={"ar-headline": "طالبة"})
    client.set_cookie("lang", "fr")
    page = client.get("/admin/changes", headers={"Accept-Language": "fr"}).get_data(as_text=True)
    assert "a créé le cas" in page and "a modifié le contenu en arabe" in page
    assert "create case" not in page
    assert action_label("something new") == "something new"  # recorded before it had words: shown as recorded
    recorded = {e.action for e in db.session.scalars(sa.select(AdminEvent))}
    assert recorded <= set(ACTION_LABELS) | {"edit case content (ar)"}
