"""Staff sign-in, roles, sessions, the users CLI and the moderation queue with its audit trail."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.moderation.models import ModerationEvent
from app.solidarity.models import SolidarityLetter
from app.staff import services as accounts
from app.staff.models import User
from tests.factories import STAFF_PASSWORD, make_case, sign_in


@pytest.fixture
def letters(app):
    case = make_case(slug="ana")
    rows = [
        SolidarityLetter(case_id=case.id, first_name=f"W{n}", country="FR", language="en", message=f"Hope {n}")
        for n in range(3)
    ]
    rows.append(
        SolidarityLetter(
            case_id=case.id,
            first_name="Eve\u202e",
            country="FR",
            language="en",
            message="<script>x</script> \u202eevil",
            flags="link",
        )
    )
    db.session.add_all(rows)
    db.session.commit()
    return rows


@pytest.mark.parametrize(
    "path", ["/admin/", "/admin/moderation/", "/admin/moderation/log", "/admin/moderation/letters/1"]
)
def test_every_staff_page_refuses_anonymous_visitors(client, path):
    response = client.get(path)
    assert response.status_code == 302 and "/admin/login" in response.headers["Location"]


def test_sign_in_new_session_and_sign_out(client, staff):
    client.get("/en/")  # an earlier session
    response = sign_in(client)
    assert response.status_code == 302 and response.headers["Location"].endswith("/admin/moderation/")
    assert client.get("/admin/moderation/").status_code == 200
    assert client.post("/admin/logout").status_code == 302
    assert client.get("/admin/moderation/").status_code == 302


def test_next_accepts_only_local_paths(client, staff):
    assert sign_in(client, next_url="/admin/moderation/log").headers["Location"].endswith("/admin/moderation/log")
    client.post("/admin/logout")
    with_query = sign_in(client, next_url="/admin/moderation/%3Fflag%3Dlink%26case%3D100%2525")
    assert with_query.headers["Location"] == "/admin/moderation/?flag=link&case=100%25"
    client.post("/admin/logout")
    for evil in ("https://evil.example/", "//evil.example/x", "/\\evil.example"):
        assert "evil" not in sign_in(client, next_url=evil).headers["Location"]
        client.post("/admin/logout")


def test_password_change_ends_open_sessions(client, staff, runner, monkeypatch):
    sign_in(client)
    assert client.get("/admin/moderation/").status_code == 200
    monkeypatch.setenv("INKWELL_PASSWORD", "a brand new long passphrase")
    assert runner.invoke(args=["users", "set-password", "mod@inkwell.example.org"]).exit_code == 0
    assert client.get("/admin/moderation/").status_code == 302


def test_users_cli(runner, monkeypatch, app):
    monkeypatch.setenv("INKWELL_PASSWORD", STAFF_PASSWORD)
    assert (
        "created (admin)"
        in runner.invoke(args=["users", "create", "Boss@Inkwell.example.org", "--role", "admin"]).output
    )
    again = runner.invoke(args=["users", "create", "boss@inkwell.example.org"])
    assert again.exit_code != 0 and "already has an account" in again.output
    monkeypatch.setenv("INKWELL_PASSWORD", "short")
    weak = runner.invoke(args=["users", "create", "x@inkwell.example.org"])
    assert weak.exit_code != 0 and "at least 12" in weak.output
    assert "boss@inkwell.example.org\tadmin\tactive" in runner.invoke(args=["users", "list"]).output
    assert runner.invoke(args=["users", "deactivate", "boss@inkwell.example.org"]).exit_code == 0
    assert "deactivated" in runner.invoke(args=["users", "list"]).output
    stored = db.session.scalar(sa.select(User.password_hash).where(User.email == "boss@inkwell.example.org"))
    assert stored.startswith("scrypt:") and STAFF_PASSWORD not in stored


def test_queue_shows_text_escaped_with_direction_characters_visible(client, staff, letters):
    sign_in(client)
    page = client.get("/admin/moderation/").get_data(as_text=True)
    assert "&lt;script&gt;x&lt;/script&gt;" in page and "<script>x" not in page
    assert "[U+202E]evil" in page and "\u202e" not in page
    assert page.index("Hope 0") < page.index("Hope 2")  # oldest first
    assert client.get("/admin/moderation/?flag=link").get_data(as_text=True).count('name="letter"') == 1


def test_approve_reject_and_bulk_with_audit_rows(client, staff, letters):
    sign_in(client)
    ids = [str(letter.id) for letter in letters]
    response = client.post("/admin/moderation/decide", data={"letter": ids[:2], "action": "approve"})
    assert response.status_code == 302
    refused = client.post("/admin/moderation/decide", data={"letter": [ids[2]], "action": "reject"})
    assert refused.status_code == 302  # a rejection without a reason is refused
    client.post("/admin/moderation/decide", data={"letter": [ids[2]], "action": "reject", "reason": "Names a guard"})
    db.session.expire_all()
    states = [db.session.get(SolidarityLetter, letter.id).state for letter in letters]
    assert states == ["approved", "approved", "rejected", "pending"]
    events = db.session.scalars(sa.select(ModerationEvent).order_by(ModerationEvent.id)).all()
    assert [(e.action, e.actor.email) for e in events] == [
        ("approve", "mod@inkwell.example.org"),
        ("approve", "mod@inkwell.example.org"),
        ("reject", "mod@inkwell.example.org"),
    ]
    assert events[-1].reason == "Names a guard"
    log = client.get("/admin/moderation/log").get_data(as_text=True)
    assert "Names a guard" in log


def test_approve_with_redaction_keeps_the_original_in_the_audit_trail(client, staff, letters):
    sign_in(client)
    letter = letters[0]
    client.post(
        "/admin/moderation/decide",
        data={"letter": [str(letter.id)], "action": "approve", "redacted_text": "Hope", "reason": "surname"},
    )
    db.session.expire_all()
    assert db.session.get(SolidarityLetter, letter.id).message == "Hope"
    redaction = db.session.scalar(sa.select(ModerationEvent).where(ModerationEvent.action == "redact"))
    assert redaction.original_text == "Hope 0"
    history = client.get(f"/admin/moderation/letters/{letter.id}").get_data(as_text=True)
    assert "Hope 0" in history and "surname" in history


@pytest.fixture
def app_config(request):
    return getattr(request, "param", {})


@pytest.mark.parametrize("app_config", [{"WTF_CSRF_ENABLED": True}], indirect=True)
def test_actions_without_a_csrf_token_are_refused(client, staff, letters):
    page = client.get("/admin/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    assert sign_in(client).status_code == 400
    sign_in(client, csrf_token=token)
    response = client.post("/admin/moderation/decide", data={"letter": [str(letters[0].id)], "action": "approve"})
    assert response.status_code == 400
    db.session.expire_all()
    assert db.session.get(SolidarityLetter, letters[0].id).state == "pending"


@pytest.mark.parametrize("path", ["/admin/dashboard", "/admin/delivery"])
def test_admin_pages_refuse_anonymous_visitors_and_moderators(client, staff, path):
    assert client.get(path).status_code == 302
    sign_in(client)
    assert client.get(path).status_code == 403
    client.post("/admin/logout")
    sign_in(client, email="admin@inkwell.example.org")
    assert client.get(path).status_code == 200


def test_delivery_watch_pause_resume_and_retry(client, staff, app):
    from app.mail import outbox as outbox_services
    from app.mail.compose import Email
    from app.mail.models import OutboundMessage

    case = make_case(slug="ana")
    address = case.targets[0].addresses[0]
    row = outbox_services.enqueue(
        Email(subject="s", text="t"), kind="appeal", recipient=address.email, target_address_id=address.id
    )
    row.state, row.last_reply = "failed", "550 5.1.1 unknown"
    db.session.commit()
    sign_in(client, email="admin@inkwell.example.org")
    page = client.get("/admin/delivery").get_data(as_text=True)
    assert "550 5.1.1 unknown" in page and "failed 1" in page
    target_id = case.targets[0].id
    client.post(f"/admin/delivery/targets/{target_id}/pause")
    assert "paused" in client.get("/admin/delivery").get_data(as_text=True)
    client.post(f"/admin/delivery/targets/{target_id}/resume")
    client.post("/admin/delivery/retry", data={"message": row.id})
    db.session.expire_all()
    assert db.session.get(OutboundMessage, row.id).state == "retry"
    changes = client.get("/admin/changes").get_data(as_text=True)
    for action in ("paused sending to a target", "resumed sending to a target", "queued failed messages again"):
        assert action in changes  # every admin change is in the audit trail, in words
    dashboard = client.get("/admin/dashboard").get_data(as_text=True)
    assert "<svg" in dashboard and "Actions per case" in dashboard


def test_unknown_and_deactivated_accounts_get_the_same_answer(client, staff, runner):
    unknown = sign_in(client, email="nobody@inkwell.example.org")
    assert unknown.status_code == 401 and "Wrong email address or password." in unknown.get_data(as_text=True)
    runner.invoke(args=["users", "deactivate", "mod@inkwell.example.org"])
    deactivated = sign_in(client)
    assert deactivated.status_code == 401 and "Wrong email address or password." in deactivated.get_data(as_text=True)


def test_signing_in_starts_a_new_session_with_an_http_only_cookie(client, staff):
    with client.session_transaction() as session:
        session["planted"] = "by someone else"
    response = sign_in(client)
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    with client.session_transaction() as session:
        assert "planted" not in session and session.get("_user_id")
    client.post("/admin/logout")
    with client.session_transaction() as session:
        assert "_user_id" not in session


def test_production_session_cookies_are_secure():
    from config import ProductionConfig

    assert ProductionConfig.SESSION_COOKIE_SECURE and ProductionConfig.SESSION_COOKIE_HTTPONLY
    assert ProductionConfig.REMEMBER_COOKIE_SECURE


THROTTLED = {
    "RATELIMIT_ENABLED": True,
    "LOGIN_RATE_LIMIT": "3/minute",  # Flask-Limiter acts here, before the growing delays (tests/test_staff_signin.py)
}


@pytest.mark.parametrize("app_config", [THROTTLED], indirect=True)
def test_sign_in_is_throttled_per_address(client, staff, app):
    for n in range(3):
        assert sign_in(client, email=f"guess{n}@inkwell.example.org").status_code == 401
    assert sign_in(client).status_code == 429  # even the right password, from this address
    other = {"REMOTE_ADDR": "198.51.100.7"}
    assert (
        client.post(
            "/admin/login", data={"email": "mod@inkwell.example.org", "password": STAFF_PASSWORD}, environ_base=other
        ).status_code
        == 302
    )
    assert client.get("/admin/login").status_code == 200  # reading the form is never limited


@pytest.mark.parametrize("app_config", [THROTTLED], indirect=True)
def test_failures_from_other_addresses_do_not_lock_the_owner_out(client, staff, app):
    for n in range(3):
        response = client.post(
            "/admin/login",
            data={"email": "Mod@inkwell.example.org ", "password": "wrong"},
            environ_base={"REMOTE_ADDR": f"198.51.100.{n + 1}"},
        )
        assert response.status_code == 401
    response = client.post(
        "/admin/login",
        data={"email": "mod@inkwell.example.org", "password": STAFF_PASSWORD},
        environ_base={"REMOTE_ADDR": "198.51.100.99"},
    )
    assert response.status_code == 302  # the account-wide delays start later and stay short (test_staff_signin)


def test_users_cli_prompts_for_the_password_twice(runner, app, monkeypatch):
    monkeypatch.delenv("INKWELL_PASSWORD", raising=False)
    result = runner.invoke(
        args=["users", "create", "first@inkwell.example.org", "--role", "admin"],
        input=f"{STAFF_PASSWORD}\n{STAFF_PASSWORD}\n",
    )
    assert result.exit_code == 0, result.output
    assert STAFF_PASSWORD not in result.output
    assert accounts.authenticate("first@inkwell.example.org", STAFF_PASSWORD, "127.0.0.1").role == "admin"
    missing = runner.invoke(args=["users", "set-password", "nobody@inkwell.example.org"], input="x" * 12 + "\n" * 2)
    assert missing.exit_code != 0
