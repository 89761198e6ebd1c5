"""Staff sign-in: the same answer and work for every account, growing delays instead of a lock, sessions that end
on the server, and only local redirects after signing in."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta
from urllib.parse import unquote

import pytest
import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st

from app.extensions import db
from app.models_base import utcnow
from app.staff import services as accounts
from app.staff.auth import safe_next
from app.staff.models import User
from tests.factories import STAFF_PASSWORD, sign_in

MODERATOR = "mod@inkwell.example.org"
NOBODY = "nobody@inkwell.example.org"
ADDRESS = "203.0.113.5"
TEST_CLIENT_ADDRESS = "127.0.0.1"  # what Flask's test client sends as REMOTE_ADDR


@pytest.fixture
def hash_checks(monkeypatch):
    """Every scrypt computation (werkzeug's password hash) with its cost parameters; the real one still runs."""
    calls = []
    real = hashlib.scrypt

    def counted(password, *, salt, n, r, p, maxmem=0, dklen=64):
        calls.append({"n": n, "r": r, "p": p, "dklen": dklen})
        return real(password, salt=salt, n=n, r=r, p=p, maxmem=maxmem, dklen=dklen)

    monkeypatch.setattr(hashlib, "scrypt", counted)
    return calls


def fail_patiently(email, times, address=ADDRESS, start=None):
    """`times` wrong passwords for `email` from `address`, each as soon as the throttle allows.

    Returns the moment of the last attempt and every delay the throttle imposed on the way."""
    now = start or utcnow()
    waits = []
    done = 0
    while done < times:
        try:
            assert accounts.authenticate(email, "a wrong password", address, now=now) is None
            done += 1
        except accounts.SignInDelayed as delayed:
            waits.append(delayed.seconds)
            now += timedelta(seconds=delayed.seconds)
    db.session.commit()
    return now, waits


def failed_just_now(email, times, address=TEST_CLIENT_ADDRESS):
    """`times` wrong passwords, spread over the last hour as the throttle allows, the last one just now."""
    fail_patiently(email, times - 1, address, start=utcnow() - timedelta(hours=1))
    assert accounts.authenticate(email, "a wrong password", address, now=utcnow()) is None
    db.session.commit()


def delay_for(email, address=ADDRESS, now=None):
    """How long `address` must wait before trying `email` again (0: it may try now)."""
    try:
        user = accounts.authenticate(email, "a wrong password", address, now=now or utcnow())
    except accounts.SignInDelayed as delayed:
        db.session.rollback()
        return delayed.seconds
    assert user is None
    db.session.rollback()  # only looking: the attempt is not recorded
    return 0


def without_variable_parts(page: str, email: str) -> str:
    return re.sub(r"\d+", "N", page.replace(email, "EMAIL"))


# Same answer, same work ------------------------------------------------------------------------------------------


def test_unknown_inactive_and_known_accounts_cost_exactly_one_hash_of_the_same_cost(client, staff, hash_checks):
    accounts.deactivate("admin@inkwell.example.org")
    db.session.commit()
    attempts = {
        "unknown account": (NOBODY, "a wrong password", 401),
        "known account, wrong password": (MODERATOR, "a wrong password", 401),
        "inactive account, right password": ("admin@inkwell.example.org", STAFF_PASSWORD, 401),
        "inactive account, wrong password": ("admin@inkwell.example.org", "a wrong password", 401),
        "known account, right password": (MODERATOR, STAFF_PASSWORD, 302),
    }
    costs = {}
    for name, (email, password, status) in attempts.items():
        hash_checks.clear()
        assert sign_in(client, email=email, password=password).status_code == status, name
        costs[name] = list(hash_checks)
    stored = db.session.scalar(sa.select(User.password_hash).where(User.email == MODERATOR))
    n, r, p = (int(value) for value in stored.split("$")[0].split(":")[1:])
    one_real_check = [{"n": n, "r": r, "p": p, "dklen": 64}]
    assert costs == {name: one_real_check for name in attempts}


def test_the_page_never_says_whether_an_account_exists_is_inactive_or_was_hammered(client, staff):
    accounts.deactivate("admin@inkwell.example.org")
    db.session.commit()
    pages = {}
    for email in (NOBODY, MODERATOR, "admin@inkwell.example.org"):
        for n in range(8):  # eight wrong passwords, each from another address (so none of them is slowed yet)
            response = client.post(
                "/admin/login",
                data={"email": email, "password": "a wrong password"},
                environ_base={"REMOTE_ADDR": f"198.51.100.{n}"},
            )
            assert response.status_code == 401, (email, n)
        pages[email] = without_variable_parts(response.get_data(as_text=True), email)
    assert "Wrong email address or password." in pages[NOBODY]
    assert pages[NOBODY] == pages[MODERATOR] == pages["admin@inkwell.example.org"]
    assert "locked" not in pages[MODERATOR]


def test_an_old_hash_format_is_upgraded_at_sign_in_without_ending_sessions(client, staff):
    from werkzeug.security import generate_password_hash

    user = accounts.find_user(MODERATOR)
    user.password_hash = generate_password_hash(STAFF_PASSWORD, method="pbkdf2:sha256:1000")
    db.session.commit()
    assert sign_in(client).status_code == 302
    db.session.expire_all()
    upgraded = accounts.find_user(MODERATOR).password_hash
    assert upgraded.split("$")[0] == accounts.find_user("admin@inkwell.example.org").password_hash.split("$")[0]
    assert client.get("/admin/moderation/").status_code == 200  # the session that just began goes on


# Growing delays instead of a lock ------------------------------------------------------------------------------


def test_one_address_waits_longer_and_longer_for_one_account_up_to_the_cap(app, staff):
    _, waits = fail_patiently(MODERATOR, 16)
    free = app.config["LOGIN_FREE_FAILURES"]
    cap = app.config["LOGIN_MAX_DELAY_SECONDS"]
    assert (free, cap) == (3, 900)
    assert waits == [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 900, 900]


def test_a_hammered_unknown_account_is_slowed_exactly_like_a_real_one(app, staff):
    start = utcnow()
    assert fail_patiently(NOBODY, 10, start=start)[1] == fail_patiently(MODERATOR, 10, start=start)[1]


def test_no_password_is_checked_while_waiting_even_the_right_one(app, staff, hash_checks):
    last, _ = fail_patiently(MODERATOR, 5)  # 4th: wait 1 s, 5th: wait 2 s
    hash_checks.clear()
    with pytest.raises(accounts.SignInDelayed) as delayed:
        accounts.authenticate(MODERATOR, STAFF_PASSWORD, ADDRESS, now=last + timedelta(seconds=1))
    assert delayed.value.seconds == 1 and hash_checks == []
    assert accounts.authenticate(MODERATOR, STAFF_PASSWORD, ADDRESS, now=last + timedelta(seconds=2)).email == MODERATOR


def test_a_success_resets_the_address_and_another_address_is_not_slowed(app, staff):
    last, _ = fail_patiently(MODERATOR, 6)
    assert delay_for(MODERATOR, now=last) == 4
    assert delay_for(MODERATOR, address="198.51.100.20", now=last) == 0  # another address: no delay of its own
    later = last + timedelta(seconds=4)
    assert accounts.authenticate(MODERATOR, STAFF_PASSWORD, ADDRESS, now=later) is not None
    db.session.commit()
    _, waits = fail_patiently(MODERATOR, 3, start=later)
    assert waits == []  # a fresh start: the first failures are free again
    assert delay_for(MODERATOR, now=later) == 0


def test_failures_are_forgotten_after_a_quiet_day(app, staff):
    last, _ = fail_patiently(MODERATOR, 6)
    next_day = last + timedelta(hours=app.config["LOGIN_FORGET_HOURS"], seconds=5)
    _, waits = fail_patiently(MODERATOR, 3, start=next_day)
    assert waits == []


def test_failures_from_everywhere_slow_the_account_gently_and_never_keep_its_owner_out(app, staff):
    start = utcnow()
    assert accounts.authenticate(MODERATOR, STAFF_PASSWORD, "192.0.2.1", now=start) is not None  # the owner's
    db.session.commit()
    now, waits = start, []
    for n in range(45):  # an attacker with 45 addresses, one guess from each, as fast as allowed
        now, address_waits = fail_patiently(MODERATOR, 1, address=f"198.51.100.{n}", start=now)
        waits += address_waits
    free = app.config["LOGIN_ACCOUNT_FREE_FAILURES"]
    cap = app.config["LOGIN_ACCOUNT_MAX_DELAY_SECONDS"]
    assert (free, cap) == (10, 30)
    assert waits == list(range(1, 31)) + [30] * 4  # a second more after each failure, up to half a minute
    assert delay_for(MODERATOR, address="198.51.100.200", now=now) == 30  # any new address waits too
    # The owner signs in at once from the address they used before.
    assert accounts.authenticate(MODERATOR, STAFF_PASSWORD, "192.0.2.1", now=now) is not None
    db.session.commit()


def test_staff_see_which_accounts_were_given_wrong_passwords(app, staff, runner):
    fail_patiently(MODERATOR, 5, start=utcnow() - timedelta(minutes=5))
    listing = runner.invoke(args=["users", "list"]).output
    assert f"{MODERATOR}\tmoderator\tactive\t5 wrong passwords lately" in listing
    assert "admin@inkwell.example.org\tadmin\tactive\n" in listing


def test_the_form_says_how_long_to_wait_in_the_same_words_for_every_account(client, staff, hash_checks):
    pages = {}
    for email in (MODERATOR, NOBODY):
        failed_just_now(email, 8)  # the eighth earns a wait of 16 s
        hash_checks.clear()
        response = sign_in(client, email=email, password=STAFF_PASSWORD)
        assert response.status_code == 429
        assert hash_checks == []
        body = response.get_data(as_text=True)
        wait = int(response.headers["Retry-After"])
        assert 0 < wait <= 16
        assert re.search(rf"Too many attempts\. Try again in {wait} seconds?\.", body)
        pages[email] = without_variable_parts(body, email)
    assert pages[MODERATOR] == pages[NOBODY]


def test_a_long_wait_is_told_in_minutes(client, staff):
    failed_just_now(MODERATOR, 14)  # the fourteenth earns the longest wait, 15 minutes
    response = sign_in(client)
    assert response.status_code == 429
    assert "Too many attempts. Try again in 15 minutes." in response.get_data(as_text=True)


def test_the_delay_is_kept_in_the_database_for_every_process(client, staff, database_url):
    from app import create_app
    from app.staff.models import LoginThrottle
    from config import TestConfig
    from tests.conftest import IsolatedClient

    failed_just_now(MODERATOR, 8)
    other_process = create_app(TestConfig, {"SQLALCHEMY_DATABASE_URI": database_url})
    other_process.test_client_class = IsolatedClient
    try:
        assert sign_in(other_process.test_client()).status_code == 429
    finally:
        with other_process.app_context():
            db.engine.dispose()
    rows = db.session.execute(sa.select(LoginThrottle)).scalars().all()
    assert len(rows) == 2  # this account from this address, and this account from everywhere
    for row in rows:  # a keyed digest: neither the address nor the account can be read back
        assert re.fullmatch(r"[0-9a-f]{64}", row.digest)
        assert MODERATOR not in repr(vars(row)) and TEST_CLIENT_ADDRESS not in repr(vars(row))


# Sessions end on the server ------------------------------------------------------------------------------------


def _stolen_session(client) -> str:
    sign_in(client)
    assert client.get("/admin/moderation/").status_code == 200
    return client.get_cookie("session").value


def _replay(client, cookie: str):
    client.set_cookie("session", cookie)
    return client.get("/admin/moderation/")


def test_a_session_cookie_replayed_after_signing_out_is_refused(client, staff):
    stolen = _stolen_session(client)
    assert client.post("/admin/logout").status_code == 302
    response = _replay(client, stolen)
    assert response.status_code == 302 and "/admin/login" in response.headers["Location"]


def test_signing_out_ends_the_accounts_other_sessions(app, staff):
    laptop, phone = app.test_client(), app.test_client()
    sign_in(laptop)
    sign_in(phone)
    assert phone.get("/admin/moderation/").status_code == 200
    laptop.post("/admin/logout")
    assert phone.get("/admin/moderation/").status_code == 302


def test_every_way_a_session_ends_holds_against_a_replayed_cookie(client, staff, runner, monkeypatch):
    monkeypatch.setenv("INKWELL_PASSWORD", STAFF_PASSWORD)
    endings = {
        "sign out": lambda: client.post("/admin/logout"),
        "password change": lambda: runner.invoke(args=["users", "set-password", MODERATOR]),
        "deactivation": lambda: runner.invoke(args=["users", "deactivate", MODERATOR]),
    }
    for ending, end_the_session in endings.items():
        stolen = _stolen_session(client)
        end_the_session()
        client.delete_cookie("session")
        response = _replay(client, stolen)
        assert response.status_code == 302 and "/admin/login" in response.headers["Location"], ending


# Only local redirects after signing in -------------------------------------------------------------------------

HOSTILE_NEXT = [
    "/%0D%0A//x",
    "/%0A/evil.example",
    "/%09/evil.example",
    "/%00/evil.example",
    "%20//evil.example",
    "/%2F/evil.example",
    "/%252F/evil.example",
    "/%5Cevil.example",
    "/%E2%80%AE//evil.example",
    "https:evil.example",
]


@pytest.mark.parametrize("next_url", HOSTILE_NEXT)
def test_a_hostile_next_falls_back_to_the_queue_and_keeps_the_session(client, staff, next_url):
    response = sign_in(client, next_url=next_url)
    if "%00" in next_url:  # a NUL anywhere in a URL is refused before any view runs (app.request_checks)
        assert response.status_code == 400 and "Location" not in response.headers
        return
    assert response.status_code == 302
    assert response.headers["Location"] == "/admin/moderation/"
    assert client.get("/admin/moderation/").status_code == 200


def _is_local_path(location: str) -> bool:
    """Whether a browser on our sign-in page stays on the site when sent to `location` (WHATWG parsing, roughly:
    surrounding spaces and controls dropped, tabs and line breaks removed, backslashes read as slashes)."""
    cleaned = location.strip("".join(map(chr, range(0x21))))
    cleaned = re.sub(r"[\t\r\n]", "", cleaned).replace("\\", "/")
    has_scheme = re.match(r"[A-Za-z][A-Za-z0-9+.-]*:", cleaned)
    return not has_scheme and cleaned.startswith("/") and not cleaned.startswith("//")


HOSTILE_PIECES = ["/", "//", "\\", "%2F", "%2f", "%5C", "%0D%0A", "%09", "%00", "%25", "%E2%80%AE", "%20", ":"]
HOSTILE_PIECES += ["\r", "\n", "\t", " ", "\x00", "\x7f", "\u202e", "\u2028", "https:", "evil.example", "@", "?", "#"]


HOSTILE_NEXT_VALUES = st.lists(st.sampled_from(HOSTILE_PIECES), max_size=8).map(lambda pieces: "/" + "".join(pieces))


@settings(max_examples=500, deadline=None)
@given(HOSTILE_NEXT_VALUES | st.lists(st.sampled_from(HOSTILE_PIECES), max_size=8).map("".join) | st.text())
def test_next_never_leaves_the_site_however_it_is_decoded(target):
    result = safe_next(target, "/admin/moderation/")
    assert result in (target, "/admin/moderation/")
    for _ in range(4):  # as the browser reads it, and as a proxy that decodes it (once, twice...) would
        assert _is_local_path(result)
        assert not any(ord(char) < 0x20 or 0x7F <= ord(char) < 0xA0 for char in result)
        result = unquote(result)
