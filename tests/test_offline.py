"""Letters written on paper: the organiser's form, staff review (approve counts exactly once, reject never), admins'
direct entry, guards on every route, the audit trail, privacy erasure that keeps the counts."""

from __future__ import annotations

import re
import threading
import uuid
from datetime import date, timedelta

import pytest
import sqlalchemy as sa
from flask_babel import force_locale, gettext
from markupsafe import escape

from app.cases import services as cases
from app.extensions import db
from app.models_base import utcnow
from app.offline import services
from app.offline.models import PaperReport
from app.privacy.models import ErasureRecord
from app.staff.models import AdminEvent, User
from tests.factories import make_case, sign_in

FORM_URL = "/en/cases/ana/paper-letters/"


@pytest.fixture
def app_config(request):
    return getattr(request, "param", {})


@pytest.fixture
def case(app):
    case = make_case(slug="ana", person_name="Ana Example")
    db.session.commit()
    return case


def report_data(**overrides):
    data = {
        "event_name": "Write for Rights at Lycée Victor Hugo",
        "event_kind": "school",
        "event_date": (date.today() - timedelta(days=3)).isoformat(),
        "place": "Besançon",
        "country": "FR",
        "letters": "37",
        "organiser_name": "Claire Martin",
        "organiser_email": "claire@example.net",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def reports() -> list[PaperReport]:
    db.session.expire_all()
    return list(db.session.scalars(sa.select(PaperReport).order_by(PaperReport.id)))


def audit_rows() -> list[AdminEvent]:
    db.session.expire_all()
    return list(db.session.scalars(sa.select(AdminEvent).order_by(AdminEvent.id)))


def offline_total(case) -> int:
    db.session.expire_all()
    return cases.totals_for([case.id]).get(case.id, cases.CaseTotals()).offline


def paper_letters_on_case_page(client) -> int | None:
    """The "Letters written on paper" figure on the public case page (None when the page does not show it)."""
    page = client.get("/en/cases/ana/").get_data(as_text=True)
    found = re.search(r"<dt>Letters written on paper</dt><dd>([\d,]+)</dd>", page)
    return int(found.group(1).replace(",", "")) if found else None


def translated(app, locale: str, message: str) -> str:
    with app.test_request_context(f"/{locale}/"), force_locale(locale):
        return str(escape(gettext(message)))


# --- the organiser's form ----------------------------------------------------------------------------------------


def test_the_case_page_links_to_the_form(client, case):
    page = client.get("/en/cases/ana/").get_data(as_text=True)
    assert f'href="{FORM_URL}"' in page
    form = client.get(FORM_URL)
    assert form.status_code == 200
    body = form.get_data(as_text=True)
    assert 'name="letters"' in body and 'name="website"' in body and 'name="started"' in body
    assert client.get("/fr/cases/ana/paper-letters/").status_code == 200


def test_a_valid_report_waits_for_the_team_and_does_not_count_yet(client, case):
    response = client.post(FORM_URL, data=report_data())
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/en/cases/ana/paper-letters/sent/")
    thanks = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "will check your report before its letters count" in thanks
    [report] = reports()
    assert (report.state, report.letters, report.event_kind, report.country) == ("pending", 37, "school", "FR")
    assert (report.organiser_name, report.organiser_email) == ("Claire Martin", "claire@example.net")
    assert report.email_digest and not report.looks_automated
    assert offline_total(case) == 0
    assert paper_letters_on_case_page(client) is None


def test_the_organisers_email_is_optional(client, case):
    assert client.post(FORM_URL, data=report_data(organiser_email="", place="")).status_code == 302
    [report] = reports()
    assert (report.organiser_email, report.email_digest, report.place) == ("", None, "")


def test_bad_input_gets_clear_errors_in_the_visitors_language(app, client, case):
    response = client.post(
        "/fr/cases/ana/paper-letters/",
        data=report_data(event_name="   ", letters="0", organiser_name="", country="XX"),
    )
    assert response.status_code == 400
    body = response.get_data(as_text=True)
    assert '<html lang="fr"' in body
    fill_in = translated(app, "fr", "Please fill in this field.")
    assert fill_in != "Please fill in this field." and body.count(fill_in) >= 2  # event name, organiser name
    assert translated(app, "fr", "Please choose the country.") in body
    assert 'id="letters-error"' in body and 'id="event_name-error"' in body
    assert "Besançon" in body  # what the organiser typed is kept
    assert reports() == []


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("letters", "100001"),
        ("letters", "-5"),
        ("letters", "twelve"),
        ("letters", "1e3"),
        ("letters", ""),
        ("event_date", (date.today() + timedelta(days=30)).isoformat()),
        ("event_date", "15/03/2026"),
        ("event_date", "1999-12-31"),
        ("event_kind", "party"),
        ("organiser_email", "not an address"),
        ("organiser_email", "a@example.net, b@example.net"),
        ("event_name", "x" * 121),
        ("event_name", "Fake\u202eevent"),
    ],
)
def test_each_bad_value_is_refused_with_a_message_on_its_field(client, case, field, value):
    response = client.post(FORM_URL, data=report_data(**{field: value}))
    assert response.status_code == 400
    assert f'id="{field}-error"' in response.get_data(as_text=True)
    assert reports() == []


def test_the_largest_allowed_report_is_accepted(client, case):
    assert client.post(FORM_URL, data=report_data(letters="100000")).status_code == 302
    assert reports()[0].letters == 100_000


def test_the_honeypot_marks_the_report_for_the_reviewer_silently(client, case):
    response = client.post(FORM_URL, data=report_data(website="http://spam.example"))
    assert response.status_code == 302
    [report] = reports()
    assert report.looks_automated and report.state == "pending"


def test_closed_and_unpublished_cases_have_no_form(client, app):
    make_case(slug="freed", status="success")
    make_case(slug="hidden", published=False)
    db.session.commit()
    for slug in ("freed", "hidden", "nobody"):
        assert client.get(f"/en/cases/{slug}/paper-letters/").status_code == 404
        assert client.post(f"/en/cases/{slug}/paper-letters/", data=report_data()).status_code == 404
    assert client.get("/xx/cases/ana/paper-letters/").status_code == 404
    assert reports() == []


@pytest.mark.parametrize("app_config", [{"WTF_CSRF_ENABLED": True}], indirect=True)
def test_the_form_needs_its_csrf_token_and_keeps_what_was_typed(app, client, case):
    refused = client.post("/fr/cases/ana/paper-letters/", data=report_data())
    assert refused.status_code == 400
    body = refused.get_data(as_text=True)
    assert (
        translated(
            app, "fr", "Your session expired while you were writing. Nothing is lost: please check and send again."
        )
        in body
    )
    assert "Claire Martin" in body
    forged = client.post(FORM_URL, data=report_data(csrf_token="forged"))
    assert forged.status_code == 400
    assert reports() == []
    page = client.get(FORM_URL).get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    assert client.post(FORM_URL, data=report_data(csrf_token=token)).status_code == 302
    assert len(reports()) == 1


@pytest.mark.parametrize(
    "app_config",
    [{"RATELIMIT_ENABLED": True, "APPEAL_RATE_LIMIT": "2/minute", "RATELIMIT_KEY_PREFIX": f"t-{uuid.uuid4().hex}"}],
    indirect=True,
)
def test_the_form_is_rate_limited_per_address(client, case):
    assert client.post(FORM_URL, data=report_data()).status_code == 302
    assert client.post(FORM_URL, data=report_data(letters="")).status_code == 400  # an error counts too
    assert client.post(FORM_URL, data=report_data()).status_code == 429
    assert client.get(FORM_URL).status_code == 200  # reading the form is never limited
    assert len(reports()) == 1


# --- staff review ------------------------------------------------------------------------------------------------


def submit(client, **overrides) -> PaperReport:
    assert client.post(FORM_URL, data=report_data(**overrides)).status_code == 302
    return reports()[-1]


def test_the_staff_page_lists_pending_reports_first_and_is_in_the_navigation(client, staff, case):
    submit(client, event_name="Older stall", event_kind="street_stall")
    # Stored by the service directly: the form refuses direction controls, the page must still show them safely.
    services.submit_report(
        case,
        services.ReportInput(
            event_name="<b>Newer</b> \u202egroup",
            event_kind="group",
            event_date=date.today(),
            country="FR",
            letters=3,
            organiser_name="<i>Sam</i>",
        ),
    )
    db.session.commit()
    assert sign_in(client).status_code == 302
    page = client.get("/admin/paper-reports").get_data(as_text=True)
    assert 'href="/admin/paper-reports"' in page  # the staff navigation
    assert page.index("Older stall") < page.index("&lt;b&gt;Newer&lt;/b&gt; [U+202E]group")
    assert "A street stall" in page and "Claire Martin" in page and "&lt;i&gt;Sam&lt;/i&gt;" in page
    assert "\u202e" not in page
    assert 'action="/admin/paper-reports/new"' not in page  # entering directly is for admins


def test_approving_adds_the_letters_to_the_case_exactly_once(client, staff, case):
    report = submit(client, letters="37")
    assert sign_in(client).status_code == 302
    response = client.post(
        f"/admin/paper-reports/{report.id}/decide", data={"action": "approve"}, follow_redirects=True
    )
    assert "Report approved" in response.get_data(as_text=True)
    assert offline_total(case) == 37
    assert paper_letters_on_case_page(client) == 37
    again = client.post(f"/admin/paper-reports/{report.id}/decide", data={"action": "approve"}, follow_redirects=True)
    assert "already been decided by someone else" in again.get_data(as_text=True)
    late_reject = client.post(
        f"/admin/paper-reports/{report.id}/decide", data={"action": "reject", "reason": "late"}, follow_redirects=True
    )
    assert "already been decided" in late_reject.get_data(as_text=True)
    assert offline_total(case) == 37 and paper_letters_on_case_page(client) == 37
    [row] = reports()
    assert (row.state, row.decided_by.email, row.decided_at is not None) == (
        "approved",
        "mod@inkwell.example.org",
        True,
    )
    [event] = audit_rows()
    assert (event.action, event.object_type, event.object_id, event.actor.email) == (
        "approve paper report",
        "PaperReport",
        report.id,
        "mod@inkwell.example.org",
    )
    assert "37 letters for ana" in event.details
    assert cases.case_view(db.session.get(type(case), case.id), "en").totals.actions == 37  # in the case total


def test_rejecting_needs_a_reason_and_never_counts(client, staff, case):
    report = submit(client)
    assert sign_in(client, "admin@inkwell.example.org").status_code == 302
    refused = client.post(f"/admin/paper-reports/{report.id}/decide", data={"action": "reject"}, follow_redirects=True)
    assert "Please give a reason to reject" in refused.get_data(as_text=True)
    assert reports()[0].state == "pending" and audit_rows() == []
    done = client.post(
        f"/admin/paper-reports/{report.id}/decide",
        data={"action": "reject", "reason": "Same event reported twice"},
        follow_redirects=True,
    )
    assert "Report rejected." in done.get_data(as_text=True)
    assert "Same event reported twice" in done.get_data(as_text=True)  # in the latest decisions
    approve = client.post(f"/admin/paper-reports/{report.id}/decide", data={"action": "approve"})
    assert approve.status_code == 302
    [row] = reports()
    assert (row.state, row.decision_reason) == ("rejected", "Same event reported twice")
    assert offline_total(case) == 0 and paper_letters_on_case_page(client) is None
    [event] = audit_rows()
    assert event.action == "reject paper report" and "Same event reported twice" in event.details


@pytest.mark.parametrize("data", [{}, {"action": "delete"}, {"action": "approve", "reason": "x" * 501}])
def test_a_tampered_decision_changes_nothing(client, staff, case, data):
    report = submit(client)
    assert sign_in(client).status_code == 302
    assert client.post(f"/admin/paper-reports/{report.id}/decide", data=data).status_code == 302
    assert client.post("/admin/paper-reports/999999/decide", data={"action": "approve"}).status_code == 302
    assert reports()[0].state == "pending" and offline_total(case) == 0 and audit_rows() == []


def test_an_admin_enters_a_report_that_counts_at_once(client, staff, case):
    assert sign_in(client, "admin@inkwell.example.org").status_code == 302
    page = client.get("/admin/paper-reports").get_data(as_text=True)
    assert 'action="/admin/paper-reports/new"' in page
    response = client.post(
        "/admin/paper-reports/new",
        data=report_data(case_id=str(case.id), letters="120", organiser_email=""),
        follow_redirects=True,
    )
    assert "Report entered" in response.get_data(as_text=True)
    [report] = reports()
    assert (report.state, report.letters, report.decided_by.email) == ("approved", 120, "admin@inkwell.example.org")
    assert offline_total(case) == 120 and paper_letters_on_case_page(client) == 120
    [event] = audit_rows()
    assert (event.action, event.object_type, event.object_id) == ("enter paper report", "PaperReport", report.id)
    assert "entered a report of letters written on paper" in client.get("/admin/changes").get_data(as_text=True)


def test_an_admins_entry_with_bad_input_counts_nothing(client, staff, case):
    assert sign_in(client, "admin@inkwell.example.org").status_code == 302
    for data in (report_data(case_id=str(case.id), letters="0"), report_data(case_id="999999")):
        response = client.post("/admin/paper-reports/new", data=data)
        assert response.status_code == 400
    assert reports() == [] and offline_total(case) == 0 and audit_rows() == []


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/admin/paper-reports"), ("POST", "/admin/paper-reports/1/decide"), ("POST", "/admin/paper-reports/new")],
)
def test_anonymous_visitors_are_sent_to_sign_in(client, case, method, path):
    submit(client)
    response = client.open(path, method=method, data={"action": "approve", **report_data(case_id="1")})
    assert response.status_code == 302 and response.headers["Location"].startswith("/admin/login")
    assert reports()[0].state == "pending" and offline_total(case) == 0


def test_moderators_may_review_but_not_enter_reports(client, staff, case):
    assert sign_in(client).status_code == 302
    response = client.post("/admin/paper-reports/new", data=report_data(case_id=str(case.id)))
    assert response.status_code == 403
    assert reports() == [] and offline_total(case) == 0 and audit_rows() == []


def test_a_deactivated_account_can_no_longer_decide(client, staff, case, runner):
    report = submit(client)
    assert sign_in(client).status_code == 302
    assert runner.invoke(args=["users", "deactivate", "mod@inkwell.example.org"]).exit_code == 0
    response = client.post(f"/admin/paper-reports/{report.id}/decide", data={"action": "approve"})
    assert response.status_code == 302 and response.headers["Location"].startswith("/admin/login")
    assert reports()[0].state == "pending" and offline_total(case) == 0


@pytest.mark.parametrize("app_config", [{"WTF_CSRF_ENABLED": True}], indirect=True)
def test_staff_actions_need_a_csrf_token(client, staff, case):
    page = client.get("/admin/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    sign_in(client, "admin@inkwell.example.org", csrf_token=token)
    report = services.submit_report(
        case,
        services.ReportInput(
            event_name="Stall",
            event_kind="street_stall",
            event_date=date.today(),
            country="FR",
            letters=5,
            organiser_name="Sam",
        ),
    )
    db.session.commit()
    assert client.post(f"/admin/paper-reports/{report.id}/decide", data={"action": "approve"}).status_code == 400
    assert client.post("/admin/paper-reports/new", data=report_data(case_id=str(case.id))).status_code == 400
    assert reports()[0].state == "pending" and len(reports()) == 1 and offline_total(case) == 0


@pytest.mark.postgres_only
def test_two_people_approving_at_once_count_the_letters_once(app, staff, case):
    report = services.submit_report(
        case,
        services.ReportInput(
            event_name="Big school day",
            event_kind="school",
            event_date=date.today(),
            country="FR",
            letters=250,
            organiser_name="Sam",
        ),
    )
    db.session.commit()
    report_id, staff_ids = report.id, [user.id for user in staff]
    barrier = threading.Barrier(2)
    outcomes = []

    def approve(user_id: int):
        with app.app_context():
            try:
                actor = db.session.get(User, user_id)
                barrier.wait()
                services.decide_report(report_id, "approve", actor)
                db.session.commit()
                outcomes.append("approved")
            except services.AlreadyDecided:
                db.session.rollback()
                outcomes.append("already decided")
            finally:
                db.session.remove()

    threads = [threading.Thread(target=approve, args=(user_id,)) for user_id in staff_ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(outcomes) == ["already decided", "approved"]
    assert offline_total(case) == 250
    assert len(audit_rows()) == 1


# --- privacy -----------------------------------------------------------------------------------------------------


def test_purge_erases_organisers_of_old_reports_and_keeps_every_count(client, staff, case, runner):
    assert sign_in(client).status_code == 302
    old = submit(client, organiser_name="Old Organiser", organiser_email="old@example.net", letters="10")
    new = submit(client, organiser_name="New Organiser", organiser_email="new@example.net", letters="5")
    for report in (old, new):
        client.post(f"/admin/paper-reports/{report.id}/decide", data={"action": "approve"})
    db.session.expire_all()
    db.session.get(PaperReport, old.id).decided_at = utcnow() - timedelta(days=91)
    db.session.commit()
    assert offline_total(case) == 15

    result = runner.invoke(args=["privacy", "purge"])
    assert result.exit_code == 0 and "1 items erased" in result.output
    old_row, new_row = reports()
    assert (old_row.organiser_name, old_row.organiser_email, old_row.email_digest) == ("", "", None)
    assert old_row.erased_at is not None
    assert (old_row.letters, old_row.event_name, old_row.country, old_row.state) == (
        10,
        "Write for Rights at Lycée Victor Hugo",
        "FR",
        "approved",
    )
    assert (new_row.organiser_name, new_row.organiser_email) == ("New Organiser", "new@example.net")
    assert offline_total(case) == 15 and paper_letters_on_case_page(client) == 15
    assert runner.invoke(args=["privacy", "purge"]).output.startswith("0 items")  # idempotent
    page = client.get("/admin/paper-reports").get_data(as_text=True)
    assert "Old Organiser" not in page and "old@example.net" not in page


def test_erase_on_request_blanks_every_report_of_that_address_and_keeps_counts(client, staff, case, runner):
    assert sign_in(client).status_code == 302
    first = submit(client, organiser_email="Claire@Example.net", letters="12")
    submit(client, organiser_email="claire@example.net", letters="8")  # pending
    other = submit(client, organiser_name="Sam", organiser_email="sam@example.net", letters="3")
    for report in (first, other):
        client.post(f"/admin/paper-reports/{report.id}/decide", data={"action": "approve"})
    assert offline_total(case) == 15

    result = runner.invoke(args=["privacy", "erase", "claire@example.net"])
    assert result.exit_code == 0, result.output
    rows = reports()
    assert [(r.organiser_name, r.organiser_email) for r in rows] == [("", ""), ("", ""), ("Sam", "sam@example.net")]
    assert all(r.erased_at is not None for r in rows[:2]) and rows[2].erased_at is None
    assert [r.letters for r in rows] == [12, 8, 3] and [r.state for r in rows] == ["approved", "pending", "approved"]
    record = db.session.scalar(sa.select(ErasureRecord))
    assert record.kind == "request" and record.items_erased == 2
    assert offline_total(case) == 15 and paper_letters_on_case_page(client) == 15
    # The pending report can still be decided, and then counts.
    client.post(f"/admin/paper-reports/{rows[1].id}/decide", data={"action": "approve"})
    assert offline_total(case) == 23
