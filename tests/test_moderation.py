"""The moderation queue and its decisions: every staff route guarded, CSRF on every action, pagination by key,
decisions with their audit rows, redaction, tampered input, two moderators deciding at once."""

from __future__ import annotations

import re
import threading
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa
from werkzeug.routing import AnyConverter, IntegerConverter

from app.extensions import db
from app.moderation import services
from app.moderation.models import ModerationEvent
from app.offline import services as offline
from app.solidarity.models import SolidarityLetter
from app.staff.models import User
from tests.factories import make_case, make_hope, sign_in


@pytest.fixture
def app_config(request):
    return getattr(request, "param", {})


@pytest.fixture
def case(app):
    case = make_case(slug="ana", person_name="Ana Example")
    db.session.commit()
    return case


def ids_on(page: str) -> list[int]:
    return [int(i) for i in re.findall(r'name="letter" value="(\d+)"', page)]


def state_of(letter_id: int) -> str:
    db.session.expire_all()
    return db.session.get(SolidarityLetter, letter_id).state


def events() -> list[ModerationEvent]:
    db.session.expire_all()
    return list(db.session.scalars(sa.select(ModerationEvent).order_by(ModerationEvent.id)))


# --- every staff route ------------------------------------------------------------------------------------------


def staff_routes(app):
    """(method, url, endpoint, required roles) for every route under /admin but the sign-in page."""
    adapter = app.url_map.bind("localhost")
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/admin") or rule.endpoint == "admin.login":
            continue
        values = {}
        for name, converter in rule._converters.items():
            if isinstance(converter, IntegerConverter):
                values[name] = 1
            elif isinstance(converter, AnyConverter):
                values[name] = sorted(converter.items)[0]
            else:
                values[name] = "en"
        url = adapter.build(rule.endpoint, values)
        roles = getattr(app.view_functions[rule.endpoint], "required_roles", None)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield method, url, rule.endpoint, roles


def test_every_staff_route_declares_its_roles(app):
    routes = list(staff_routes(app))
    assert len(routes) >= 10
    undeclared = [endpoint for _, _, endpoint, roles in routes if not roles]
    assert undeclared == []


def test_every_staff_route_refuses_anonymous_visitors(app, client):
    for method, url, _endpoint, _roles in staff_routes(app):
        response = client.open(url, method=method)
        assert response.status_code == 302, (method, url)
        assert response.headers["Location"].startswith("/admin/login"), (method, url)


def test_admin_routes_refuse_moderators_and_moderator_routes_admit_both(app, client, staff):
    sign_in(client)
    routes = list(staff_routes(app))
    admin_only = [(m, u) for m, u, _, roles in routes if roles == ("admin",)]
    shared = [(m, u) for m, u, e, roles in routes if "moderator" in roles and e != "admin.logout"]
    assert admin_only and shared
    for method, url in admin_only:
        assert client.open(url, method=method).status_code == 403, (method, url)
    for method, url in shared:
        response = client.open(url, method=method)
        assert response.status_code != 403, (method, url)
        assert not response.headers.get("Location", "").startswith("/admin/login"), (method, url)
    assert client.get("/admin/").status_code == 200


@pytest.mark.parametrize("app_config", [{"WTF_CSRF_ENABLED": True}], indirect=True)
def test_every_staff_action_needs_a_csrf_token(app, client, staff, case):
    letter = make_hope(case)
    db.session.commit()
    page = client.get("/admin/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    assert sign_in(client, "admin@inkwell.example.org").status_code == 400  # signing in is an action too
    assert sign_in(client, "admin@inkwell.example.org", csrf_token=token).status_code == 302
    posts = [url for method, url, endpoint, _ in staff_routes(app) if method == "POST"]
    assert "/admin/moderation/decide" in posts and "/admin/logout" in posts
    for url in posts:
        data = {"letter": str(letter.id), "action": "approve", "message": "1"}
        assert client.post(url, data=data).status_code == 400, url
        assert client.post(url, data={**data, "csrf_token": "forged"}).status_code == 400, url
    assert state_of(letter.id) == "pending"
    assert client.get("/admin/moderation/").status_code == 200  # still signed in: logout refused too


# --- the queue ----------------------------------------------------------------------------------------------------


def test_queue_walks_pages_by_key_oldest_first_even_with_equal_timestamps(client, staff, case):
    start = datetime(2026, 1, 1, tzinfo=UTC)
    expected = []
    for n in range(120):
        # Three letters share each timestamp, inserted out of order: the id breaks the tie.
        letter = make_hope(case, f"Hope {n}", created_at=start + timedelta(seconds=(119 - n) // 3))
        expected.append((letter.created_at, letter.id))
    db.session.commit()
    expected = [letter_id for _, letter_id in sorted(expected)]
    sign_in(client)
    seen, url, pages = [], "/admin/moderation/", 0
    while url:
        page = client.get(url).get_data(as_text=True)
        seen += ids_on(page)
        pages += 1
        match = re.search(r'<a href="([^"]+)">Next page</a>', page)
        url = match.group(1).replace("&amp;", "&") if match else None
    assert pages == 3 and seen == expected


def test_queue_pages_carry_their_filters(client, staff, case):
    other = make_case(slug="ben", person_name="Ben Example")
    for n in range(60):
        make_hope(case, f"For-ana {n}")
        make_hope(other, f"Ben {n}")
    db.session.commit()
    sign_in(client)
    first = client.get(f"/admin/moderation/?case={other.id}").get_data(as_text=True)
    assert "For-ana" not in first and len(ids_on(first)) == 50
    next_url = re.search(r'<a href="([^"]+)">Next page</a>', first).group(1).replace("&amp;", "&")
    second = client.get(next_url).get_data(as_text=True)
    assert len(ids_on(second)) == 10 and "For-ana" not in second


def capture_statements(run):
    """The (SQL, parameters) pairs `run()` sends to the database."""
    statements = []

    def remember(conn, cursor, statement, parameters, *args):
        statements.append((statement, parameters))

    sa.event.listen(db.engine, "before_cursor_execute", remember)
    try:
        result = run()
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", remember)
    return result, [(sql, params) for sql, params in statements if "FROM solidarity_letters" in sql]


def test_queue_query_uses_a_key_not_an_offset(app, case):
    for n in range(5):
        make_hope(case, f"Hope {n}")
    db.session.flush()
    first = services.pending_queue(limit=2)
    second, [(sql, params)] = capture_statements(
        lambda: services.pending_queue(limit=2, after=(first[-1].created_at, first[-1].id))
    )
    assert [letter.message for letter in first + second] == [f"Hope {n}" for n in range(4)]
    assert "(solidarity_letters.created_at, solidarity_letters.id) >" in sql
    if "OFFSET" in sql:  # SQLite's dialect always writes one: it must be zero
        assert params[-1] == 0


@pytest.mark.postgres_only
def test_a_later_queue_page_is_read_from_the_index_without_sorting(app, case):
    letter = make_hope(case)
    db.session.flush()
    _, [(sql, params)] = capture_statements(
        lambda: services.pending_queue(after=(letter.created_at, letter.id), flag="link")
    )
    db.session.execute(sa.text("SET LOCAL enable_seqscan = off"))  # as on a big table
    plan = "\n".join(row[0] for row in db.session.connection().exec_driver_sql("EXPLAIN " + sql, params))
    assert "ix_solidarity_letters_queue" in plan and "Sort" not in plan, plan


def test_queue_filters_by_language_and_flag_and_shows_flags_in_words(client, staff, case):
    make_hope(case, "Olá, força!", language="pt")
    make_hope(case, "See http://example.com", flags="link")
    make_hope(case, "Plain")
    db.session.commit()
    sign_in(client)
    assert len(ids_on(client.get("/admin/moderation/?language=pt").get_data(as_text=True))) == 1
    flagged = client.get("/admin/moderation/?flag=link").get_data(as_text=True)
    assert len(ids_on(flagged)) == 1 and '<span class="flag">link</span>' in flagged
    assert len(ids_on(client.get("/admin/moderation/?flag=nonsense").get_data(as_text=True))) == 3


@pytest.mark.parametrize(
    "after", ["junk", "2026-01-01T00:00:00_1", "2026-01-01_99999999999999999999", "_", "2026-13-01T00:00:00+00:00_1"]
)
def test_tampered_page_keys_show_the_first_page(client, staff, case, after):
    make_hope(case, "Hope")
    db.session.commit()
    sign_in(client)
    response = client.get("/admin/moderation/", query_string={"after": after})
    assert response.status_code == 200


def test_a_huge_hostile_letter_is_escaped_and_its_controls_made_visible(client, staff, case):
    hostile = "<img src=x onerror=alert(1)>\u202edlrow\u2066x\u2069\x07" + "A" * 100_000
    make_hope(case, hostile, first_name="<b>Eve</b>")
    db.session.commit()
    sign_in(client)
    page = client.get("/admin/moderation/").get_data(as_text=True)
    assert "<img src=x" not in page and "&lt;img src=x onerror=alert(1)&gt;" in page
    assert "[U+202E]dlrow[U+2066]x[U+2069][U+0007]" in page
    assert "\u202e" not in page and "\x07" not in page and "&lt;b&gt;Eve&lt;/b&gt;" in page


# --- decisions ----------------------------------------------------------------------------------------------------


def test_bulk_reject_needs_a_reason_and_records_one_audit_row_per_letter(client, staff, case):
    letters = [make_hope(case, f"Hope {n}") for n in range(3)]
    db.session.commit()
    sign_in(client)
    ids = [str(letter.id) for letter in letters]
    refused = client.post("/admin/moderation/decide", data={"letter": ids, "action": "reject"}, follow_redirects=True)
    assert "Please give a reason to reject" in refused.get_data(as_text=True)
    assert [state_of(letter.id) for letter in letters] == ["pending"] * 3
    done = client.post(
        "/admin/moderation/decide",
        data={"letter": ids, "action": "reject", "reason": "Spam"},
        follow_redirects=True,
    )
    assert "3 messages decided." in done.get_data(as_text=True)
    one = client.post("/admin/moderation/decide", data={"letter": ids[:1], "action": "approve"}, follow_redirects=True)
    assert "already been decided" in one.get_data(as_text=True)
    assert [(e.letter_id, e.action, e.reason, e.actor.email) for e in events()] == [
        (letter.id, "reject", "Spam", "mod@inkwell.example.org") for letter in letters
    ]
    log = client.get("/admin/moderation/log").get_data(as_text=True)
    assert log.count("rejected: message") == 3 and "Spam" in log


def test_a_decided_letter_is_not_decided_again(client, staff, case):
    letter = make_hope(case)
    db.session.commit()
    sign_in(client)
    client.post("/admin/moderation/decide", data={"letter": str(letter.id), "action": "approve"})
    again = client.post(
        "/admin/moderation/decide",
        data={"letter": str(letter.id), "action": "reject", "reason": "late"},
        follow_redirects=True,
    )
    assert "already been decided by someone else" in again.get_data(as_text=True)
    assert state_of(letter.id) == "approved" and [e.action for e in events()] == ["approve"]


@pytest.mark.parametrize("values", [[], ["²"], ["-1"], ["abc"], ["99999999999999999999"], ["1 OR 1=1"]])
def test_tampered_letter_ids_decide_nothing_and_never_fail(client, staff, case, values):
    letter = make_hope(case)
    db.session.commit()
    sign_in(client)
    response = client.post(
        "/admin/moderation/decide", data={"letter": values, "action": "approve"}, follow_redirects=True
    )
    assert response.status_code == 200
    assert "Select at least one message first." in response.get_data(as_text=True)
    assert state_of(letter.id) == "pending" and events() == []


def test_an_unknown_action_is_refused(client, staff, case):
    letter = make_hope(case)
    db.session.commit()
    sign_in(client)
    response = client.post(
        "/admin/moderation/decide", data={"letter": str(letter.id), "action": "delete"}, follow_redirects=True
    )
    assert "Choose approve or reject." in response.get_data(as_text=True)
    assert state_of(letter.id) == "pending"


def test_the_letter_page_approves_an_unchanged_multiline_text_without_a_redaction(client, staff, case):
    letter = make_hope(case, "Dear Ana,\nstay strong.\n\nJane")
    db.session.commit()
    sign_in(client)
    page = client.get(f"/admin/moderation/letters/{letter.id}").get_data(as_text=True)
    assert "Dear Ana," in page and 'name="redacted_text"' in page
    client.post(  # a browser sends the textarea's lines with CRLF
        "/admin/moderation/decide",
        data={"letter": str(letter.id), "action": "approve", "redacted_text": "Dear Ana,\r\nstay strong.\r\n\r\nJane"},
    )
    assert state_of(letter.id) == "approved" and [e.action for e in events()] == ["approve"]


def test_redaction_keeps_the_original_and_refuses_an_empty_text(client, staff, case):
    letter = make_hope(case, "Stay strong, Ana Pereira of 12 rue des Lilas")
    db.session.commit()
    sign_in(client)
    empty = client.post(
        "/admin/moderation/decide",
        data={"letter": str(letter.id), "action": "approve", "redacted_text": " \u200b "},
        follow_redirects=True,
    )
    assert "The edited text is empty." in empty.get_data(as_text=True)
    assert state_of(letter.id) == "pending"
    client.post(
        "/admin/moderation/decide",
        data={"letter": str(letter.id), "action": "approve", "redacted_text": "Stay strong, Ana", "reason": "address"},
    )
    assert [(e.action, e.original_text) for e in events()] == [
        ("redact", "Stay strong, Ana Pereira of 12 rue des Lilas"),
        ("approve", None),
    ]
    history = client.get(f"/admin/moderation/letters/{letter.id}").get_data(as_text=True)
    assert "edited before approval" in history and "12 rue des Lilas" in history and "address" in history


def test_redaction_applies_to_one_letter_being_approved(app, staff, case):
    moderator, _ = staff
    first, second = make_hope(case, "One"), make_hope(case, "Two")
    with pytest.raises(services.ModerationError) as error:
        services.moderate([first.id, second.id], "approve", moderator, redacted_text="Three")
    assert error.value.code == "redaction_single_approval"
    with pytest.raises(services.ModerationError):
        services.moderate([first.id], "reject", moderator, reason="x", redacted_text="Three")


def test_the_staff_home_page_counts_what_waits(client, staff, case):
    make_hope(case, "Pending")
    make_hope(case, "Approved", state="approved")
    db.session.commit()
    sign_in(client)
    page = client.get("/admin/").get_data(as_text=True)
    assert "1 message of hope waits for a decision." in page
    assert "1 approved message waits to be forwarded." in page
    assert "0 reports of letters written on paper wait for a decision." in page
    for event in ("School", "Stall"):
        offline.submit_report(
            case,
            offline.ReportInput(
                event_name=event,
                event_kind="school",
                event_date=date(2026, 11, 1),
                country="FR",
                letters=30,
                organiser_name="Org",
            ),
        )
    db.session.commit()
    page = client.get("/admin/").get_data(as_text=True)
    assert "2 reports of letters written on paper wait for a decision." in page


@pytest.mark.postgres_only
def test_two_moderators_deciding_the_same_letters_at_once_decide_each_once(app, staff, case):
    letters = [make_hope(case, f"Hope {n}") for n in range(20)]
    db.session.commit()
    letter_ids = [letter.id for letter in letters]
    moderator_ids = [user.id for user in staff]
    barrier = threading.Barrier(2)
    decided = {}

    def decide(moderator_id: int, action: str, ids: list[int]):
        with app.app_context():
            try:
                barrier.wait()
                actor = db.session.get(User, moderator_id)
                decided[action] = services.moderate(ids, action, actor, reason="at once")
                db.session.commit()
            finally:
                db.session.remove()

    threads = [
        threading.Thread(target=decide, args=(moderator_ids[0], "approve", letter_ids)),
        threading.Thread(target=decide, args=(moderator_ids[1], "reject", list(reversed(letter_ids)))),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sum(decided.values()) == 20
    rows = events()
    assert len(rows) == 20 and len({e.letter_id for e in rows}) == 20
    db.session.expire_all()
    states = {letter_id: db.session.get(SolidarityLetter, letter_id).state for letter_id in letter_ids}
    decisions = {e.letter_id: ("approved" if e.action == "approve" else "rejected") for e in rows}
    assert states == decisions
