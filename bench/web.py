"""Web: appeals accepted per second and the case page's latency, through gunicorn on PostgreSQL, driven by wrk.

Every request goes over loopback from Debian's `wrk`, to gunicorn with 2 sync workers (`--workers 2`):

- appeals: bench/appeal.lua GETs the form, takes its csrf_token and the session cookie, and POSTs a valid appeal
  from a new address each time (302: stored, confirmation email queued, as in the default journey). Measured at an
  empty database and with 1,000,000 letters stored (appeals, their sent emails, the sharded counters), beside a bare
  Flask route (bench/bare_app.py: Flask-WTF with CSRF, one INSERT) in the same database, driven by the same script.
  Targets: >= 500 appeals/s, >= 60% of the bare route, and the full database within 20% of the empty one;
- the case page (GET /en/cases/<slug>/): empty case versus 1,000,000 letters on it (counters are sharded rows, so
  the page must not slow down with the number of letters).

Each phase (empty, then 1,000,000 letters) runs alternating rounds of the bare route, the appeals and the case
page, so that whatever else this shared machine does falls on all of them alike; rates add the rounds up, latencies
are wrk's (--latency, over every request: for appeals the GET of the form and the POST) of the median round.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa

from bench.common import ROOT, Row, Table, Timer, free_port, temp_database, vacuum

SLUG = "bench"
APPEAL_PATH = f"/en/cases/{SLUG}/appeal/"
CASE_PATH = f"/en/cases/{SLUG}/"
BARE_PATH = "/write/"
LETTERS = 1_000_000
CONNECTIONS = int(os.environ.get("BENCH_WEB_CONNECTIONS", "4"))  # wrk threads = connections (see appeal.lua)
ROUNDS = int(os.environ.get("BENCH_WEB_ROUNDS", "3"))  # interleaved rounds of each measurement per phase
SECONDS = int(os.environ.get("BENCH_WEB_SECONDS", "5"))  # per round
WARMUP_SECONDS = 3
SECRET_KEY = "bench-secret-key-shared-by-both-gunicorn-workers-0123456789"  # noqa: S105 - throw-away


def log(message: str) -> None:
    print(f"[web] {message}", file=sys.stderr, flush=True)


# --- servers and load ---------------------------------------------------------------------------------------------


def ensure_wrk() -> str:
    path = shutil.which("wrk")
    if path is None:
        raise SystemExit("wrk is missing: `apt-get install -y wrk` (make bench installs it when run as root)")
    return path


@contextlib.contextmanager
def gunicorn(app: str, env: dict[str, str], workers: int = 2):
    """gunicorn serving `app` with `workers` sync workers on a free loopback port; yields the base URL."""
    port = free_port()
    errors = tempfile.TemporaryFile()
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--workers", str(workers), "--bind", f"127.0.0.1:{port}", app],
        cwd=ROOT,
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=errors,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"{base}/healthz", timeout=2).read()  # noqa: S310 - loopback
                break
            except (urllib.error.URLError, ConnectionError):
                if process.poll() is not None or time.monotonic() > deadline:
                    errors.seek(0)
                    output = errors.read().decode(errors="replace")
                    raise SystemExit(f"gunicorn {app} did not start:\n{output}") from None
                time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=30)
        errors.close()


@dataclass
class Load:
    seconds: float
    requests: int
    accepted: int  # POSTs answered 302 (appeal runs) or pages answered 200 (page runs)
    failures: int  # anything else: form not served, POST not accepted, page not 200, socket errors
    non_2xx_3xx: int
    p50_ms: float
    p99_ms: float

    @property
    def rps(self) -> float:
        return self.requests / self.seconds

    @property
    def accepted_per_s(self) -> float:
        return self.accepted / self.seconds


def wrk(base: str, script: str, seconds: int, path: str = "", args: tuple[str, ...] = ()) -> Load:
    command = [
        ensure_wrk(),
        f"-t{CONNECTIONS}",
        f"-c{CONNECTIONS}",
        f"-d{seconds}s",
        "--timeout",
        "10s",
        "--latency",
        "-s",
        str(ROOT / "bench" / script),
        base + path,
    ]
    if args:
        command += ["--", *args]
    result = subprocess.run(command, capture_output=True, text=True, check=True)
    line = next((ln for ln in result.stdout.splitlines() if ln.startswith("BENCH ")), None)
    if line is None:
        raise SystemExit(f"wrk printed no BENCH line:\n{result.stdout}\n{result.stderr}")
    v = {k: int(n) for k, n in (item.split("=") for item in line.split()[1:])}
    if "posts" in v:
        accepted, failures = v["accepted"], v["rejected"] + v["get_failures"]
    else:
        accepted, failures = v["requests"] - v["not_200"], v["not_200"]
    return Load(
        seconds=v["duration_us"] / 1e6,
        requests=v["requests"],
        accepted=accepted,
        failures=failures + v["socket_errors"],
        non_2xx_3xx=v["non_2xx_3xx"],
        p50_ms=v["p50_us"] / 1000,
        p99_ms=v["p99_us"] / 1000,
    )


def appeals(base: str, path: str, run: str, seconds: int = SECONDS) -> Load:
    return wrk(base, "appeal.lua", seconds, args=(path, run))


def page(base: str, path: str, seconds: int = SECONDS) -> Load:
    return wrk(base, "page.lua", seconds, path=path)


# --- data ---------------------------------------------------------------------------------------------------------

LETTER = (
    "Dear Minister,\n\nI am writing to ask you to release Bench Case, a human-rights defender held since last year "
    "for peaceful work. Detaining people for speaking out violates the rights your government has pledged to "
    "respect, including freedom of expression and association. Please ensure that, pending release, Bench Case has "
    "regular access to family and to lawyers of their choosing, and to any medical care they may need, and is "
    "protected from torture and other ill-treatment.\n\nI will follow this case closely.\n\nYours sincerely,"
)


def _app(url: str):
    from app import create_app
    from config import TestConfig

    return create_app(TestConfig, {"SQLALCHEMY_DATABASE_URI": url})


def seed_case(url: str) -> None:
    """One active case as an editor would publish it: story in English, a timeline, one authority."""
    from app.cases.models import Case, CaseTranslation, CaseUpdate, CaseUpdateTranslation, Target, TargetAddress
    from app.extensions import db

    app = _app(url)
    with app.app_context():
        case = Case(slug=SLUG, person_name="Bench Case", country="PT", published=True, status="active", goal=2_000_000)
        case.translations.append(
            CaseTranslation(
                locale="en",
                headline="Bench Case, jailed for defending the right to protest",
                story="Bench Case documented abuses by the police for ten years. " * 25,
                ask="Write to the Minister of Justice and ask for Bench Case's immediate and unconditional release.",
                appeal_subject="Release Bench Case now",
                appeal_template=LETTER,
            )
        )
        for n, kind in enumerate(("arrest", "charge", "trial", "sentence", "campaign")):
            update = CaseUpdate(happened_on=date(2024, 1 + 2 * n, 10), kind=kind)
            update.translations.append(CaseUpdateTranslation(locale="en", text=f"The {kind} of Bench Case. " * 4))
            case.updates.append(update)
        target = Target(name="Ministry of Justice", title="Minister of Justice", country="PT", max_per_hour=10_000_000)
        target.addresses.append(TargetAddress(email="minister@justice.example.org"))
        case.targets.append(target)
        db.session.add(case)
        db.session.commit()
        db.engine.dispose()


def _sample_raw(url: str, subject: str, text: str, message_id: str) -> bytes:
    from app.mail.compose import Email, build_message, message_bytes

    with _app(url).app_context():
        return message_bytes(
            build_message(Email(subject=subject, text=text, sender_name="A Supporter via Inkwell"), message_id)
        )


def store_letters(url: str, count: int) -> None:
    """`count` confirmed appeals on the case, as if sent long ago: the appeals, their confirmation emails and the
    emails to the authority (sent), and the case's sharded counters. Bulk SQL, not the ORM; then VACUUM ANALYZE."""
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        case_id, address_id, recipient = conn.execute(
            sa.text(
                "SELECT c.id, a.id, a.email FROM cases c JOIN targets t ON t.case_id = c.id "
                "JOIN target_addresses a ON a.target_id = t.id WHERE c.slug = :slug"
            ),
            {"slug": SLUG},
        ).one()
        appeal_raw = _sample_raw(url, "Release Bench Case now", LETTER + "\n\nA Supporter\nFrance\n", "<appeal.x@b>")
        confirm_raw = _sample_raw(
            url,
            "Please confirm your appeal for Bench Case",
            "Thank you for writing for Bench Case.\n\nPlease confirm your address to send your appeal: "
            "http://127.0.0.1:5000/en/appeals/confirm/" + "x" * 90 + "/\n\nThe link works for 48 hours. If you did "
            "not write this appeal, ignore this message: nothing will be sent.\n\n-- \nInkwell\n" * 3,
            "<confirmation.x@b>",
        )
        conn.execute(
            sa.text(
                "INSERT INTO appeals (public_id, case_id, name, email, email_digest, country, locale, letter_language,"
                " subject, letter, consent_share, consent_reply, consent_updates, state, created_at, confirmed_at)"
                " SELECT 'bulk' || g, :case_id, 'Supporter ' || g, 'bulk-' || g || '@example.net',"
                " md5('d' || g) || md5('e' || g), 'FR', 'en', 'en', 'Release Bench Case now', :letter,"
                " true, false, false, 'confirmed', now() - make_interval(secs => g + 60),"
                " now() - make_interval(secs => g)"
                " FROM generate_series(1, :count) AS g"
            ),
            {"case_id": case_id, "letter": LETTER, "count": count},
        )
        log(f"{count:,} appeals stored")
        conn.execute(
            sa.text(
                "INSERT INTO outbound_messages (kind, state, message_id, sender, recipient, subject, raw, appeal_id,"
                " attempts, next_attempt_at, created_at, last_attempt_at, sent_at, last_reply, delivered_to)"
                " SELECT 'confirmation', 'sent', '<confirmation.' || a.public_id || '@inkwell.example.org>',"
                " 'appeals@inkwell.example.org', a.email, 'Please confirm your appeal for Bench Case', :raw, a.id,"
                " 1, a.created_at, a.created_at, a.created_at, a.created_at, '250 2.0.0 Accepted', a.email"
                " FROM appeals a WHERE a.case_id = :case_id AND a.public_id LIKE 'bulk%'"
            ),
            {"case_id": case_id, "raw": confirm_raw},
        )
        log(f"{count:,} confirmation emails stored")
        conn.execute(
            sa.text(
                "INSERT INTO outbound_messages (kind, state, message_id, sender, recipient, subject, raw,"
                " target_address_id, appeal_id, attempts, next_attempt_at, created_at, last_attempt_at, sent_at,"
                " last_reply, delivered_to)"
                " SELECT 'appeal', 'sent', '<appeal.' || a.public_id || '.' || :address_id || '@inkwell.example.org>',"
                " 'appeals@inkwell.example.org', :recipient, a.subject, :raw, :address_id, a.id, 1, a.confirmed_at,"
                " a.confirmed_at, a.confirmed_at, a.confirmed_at, '250 2.0.0 Accepted', :recipient"
                " FROM appeals a WHERE a.case_id = :case_id AND a.public_id LIKE 'bulk%'"
            ),
            {"case_id": case_id, "address_id": address_id, "recipient": recipient, "raw": appeal_raw},
        )
        log(f"{count:,} emails to the authority stored")
        shards = 8  # app.cases.services.COUNTER_SHARDS
        conn.execute(
            sa.text(
                "INSERT INTO action_counters (case_id, kind, shard, count)"
                " SELECT :case_id, 'appeal', s, :count / :shards + CASE WHEN s < :count % :shards THEN 1 ELSE 0 END"
                " FROM generate_series(0, :shards - 1) AS s"
                " ON CONFLICT (case_id, kind, shard) DO UPDATE SET count = action_counters.count + excluded.count"
            ),
            {"case_id": case_id, "count": count, "shards": shards},
        )
    vacuum(engine, "appeals", "outbound_messages", "action_counters", checkpoint=True)
    engine.dispose()
    log("vacuumed, analysed, checkpointed")


def count_rows(url: str, sql: str, **params) -> int:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        value = conn.execute(sa.text(sql), params).scalar_one()
    engine.dispose()
    return int(value)


def check_page_total(base: str, expected: int) -> None:
    with urllib.request.urlopen(base + CASE_PATH, timeout=10) as response:  # noqa: S310 - loopback
        html = response.read().decode()
    total = re.search(r"Appeals to the authorities</dt><dd>([^<]*)</dd>", html)
    if total is None or int(re.sub(r"\D", "", total.group(1)) or 0) != expected:
        raise SystemExit(f"the case page shows {total and total.group(1)!r} appeals, not {expected:,}")


# --- the benchmark --------------------------------------------------------------------------------------------------


@dataclass
class Results:
    bare_empty: Load
    empty: Load
    page_empty: Load
    bare_full: Load
    full: Load
    page_full: Load


def combine(loads: list[Load]) -> Load:
    """Rounds added up; latencies are the median round's (the machine is shared: one disturbed round is not the
    figure)."""
    return Load(
        seconds=sum(x.seconds for x in loads),
        requests=sum(x.requests for x in loads),
        accepted=sum(x.accepted for x in loads),
        failures=sum(x.failures for x in loads),
        non_2xx_3xx=sum(x.non_2xx_3xx for x in loads),
        p50_ms=statistics.median(x.p50_ms for x in loads),
        p99_ms=statistics.median(x.p99_ms for x in loads),
    )


def phase(url: str, bare: str, app: str, name: str, rounds: int, seconds: int) -> tuple[Load, Load, Load]:
    """Warm both servers, then `rounds` rounds of bare route, appeals, case page, so that whatever else the
    machine is doing falls on all three alike. Checks that every accepted appeal was stored with its email."""
    appeals(bare, BARE_PATH, f"{name}warm", WARMUP_SECONDS)
    page(app, CASE_PATH, WARMUP_SECONDS)
    appeals(app, APPEAL_PATH, f"{name}warm", WARMUP_SECONDS)
    bare_loads, appeal_loads, page_loads = [], [], []
    for n in range(rounds):
        bare_loads.append(appeals(bare, BARE_PATH, f"{name}{n}", seconds))
        appeal_loads.append(appeals(app, APPEAL_PATH, f"{name}{n}", seconds))
        page_loads.append(page(app, CASE_PATH, seconds))
    # Every 302 was a stored appeal with its confirmation email queued (wrk stops with up to one POST per
    # connection in flight: answered by the server, never counted by wrk).
    for n, load in enumerate(appeal_loads):
        pattern = f"s-{name}{n}-%"
        stored = count_rows(url, "SELECT count(*) FROM appeals WHERE email LIKE :p", p=pattern)
        queued = count_rows(
            url,
            "SELECT count(*) FROM outbound_messages WHERE kind = 'confirmation' AND state = 'pending'"
            " AND recipient LIKE :p",
            p=pattern,
        )
        if not (stored == queued and load.accepted <= stored <= load.accepted + CONNECTIONS):
            raise SystemExit(f"{name}{n}: {load.accepted} appeals accepted, {stored} stored, {queued} emails queued")
    return combine(bare_loads), combine(appeal_loads), combine(page_loads)


def measure(letters: int = LETTERS, rounds: int = ROUNDS, seconds: int = SECONDS) -> Results:
    ensure_wrk()
    with temp_database() as url, tempfile.TemporaryDirectory(prefix="inkwell-bench-") as instance:
        from bench import bare_app

        seed_case(url)
        bare_app.create_table(url)
        env = {
            "INKWELL_CONFIG": "development",
            "INKWELL_INSTANCE_DIR": instance,
            "DATABASE_URL": url,
            "SECRET_KEY": SECRET_KEY,
            "APPEAL_CONFIRMATION": "1",  # the default journey: the appeal stored, a confirmation email queued
            "FORM_MIN_FILL_SECONDS": "0",  # wrk fills the form in no time; held appeals are not the journey measured
            "RATELIMIT_ENABLED": "0",  # every request comes from 127.0.0.1
        }
        # Both servers run throughout (an idle one costs nothing); the load goes to one at a time.
        with (
            gunicorn("bench.bare_app:app", {"BARE_DATABASE_URL": url, "SECRET_KEY": SECRET_KEY}) as bare,
            gunicorn("wsgi:app", env) as app,
        ):
            check_page_total(app, 0)
            bare_empty, empty, page_empty = phase(url, bare, app, "empty", rounds, seconds)
            log(
                f"empty database: {empty.accepted_per_s:,.0f} appeals/s, bare route {bare_empty.accepted_per_s:,.0f}"
                f" posts/s; storing {letters:,} letters"
            )
            with Timer() as timer:
                store_letters(url, letters)
            log(f"stored in {timer.seconds:.0f} s")
            check_page_total(app, letters)
            bare_full, full, page_full = phase(url, bare, app, "full", rounds, seconds)
            log(
                f"{letters:,} letters: {full.accepted_per_s:,.0f} appeals/s, bare route "
                f"{bare_full.accepted_per_s:,.0f} posts/s"
            )
    return Results(bare_empty, empty, page_empty, bare_full, full, page_full)


def tables(r: Results, letters: int = LETTERS) -> list[Table]:
    n = f"{letters:,}"
    web = Table(
        f"Appeals through gunicorn (2 sync workers), PostgreSQL, wrk on loopback ({CONNECTIONS} connections; "
        "each appeal is GET form + POST; bare route and appeals measured in alternating rounds)"
    )
    web.add(
        Row(
            "bare Flask route (Flask-WTF + 1 INSERT), empty database: posts accepted", r.bare_empty.accepted_per_s, "/s"
        )
    )
    drift = r.bare_full.accepted_per_s / r.bare_empty.accepted_per_s  # the machine's drift between the phases
    web.add(
        Row(
            f"bare Flask route, {n} letters stored: posts accepted",
            r.bare_full.accepted_per_s,
            "/s",
            "bare route, empty database",
            drift,
        )
    )
    for label, load, bare in (("empty database", r.empty, r.bare_empty), (f"{n} letters stored", r.full, r.bare_full)):
        ratio = load.accepted_per_s / bare.accepted_per_s
        web.add(
            Row(
                f"appeals accepted, {label}",
                load.accepted_per_s,
                "/s",
                "",
                None,
                ">= 500/s",
                load.accepted_per_s >= 500,
            )
        )
        web.add(
            Row(
                f"appeals accepted, {label}",
                load.accepted_per_s,
                "/s",
                "bare route, same phase",
                ratio,
                ">= 0.6x",
                ratio >= 0.6,
            )
        )
    full_ratio = r.full.accepted_per_s / r.empty.accepted_per_s
    web.add(
        Row(
            f"appeals accepted, {n} letters stored",
            r.full.accepted_per_s,
            "/s",
            "empty database",
            full_ratio,
            ">= 0.8x",
            full_ratio >= 0.8,
        )
    )
    for label, load, bare in (
        ("bare route, empty database", r.bare_empty, None),
        ("appeals, empty database", r.empty, r.bare_empty),
        (f"bare route, {n} letters", r.bare_full, None),
        (f"appeals, {n} letters", r.full, r.bare_full),
    ):
        against = "bare route, same phase" if bare else None
        web.add(Row(f"{label}: requests (GET + POST)", load.rps, "req/s", against, bare and load.rps / bare.rps))
        web.add(Row(f"{label}: p50 latency", load.p50_ms, "ms", against, bare and load.p50_ms / bare.p50_ms))
        web.add(Row(f"{label}: p99 latency", load.p99_ms, "ms", against, bare and load.p99_ms / bare.p99_ms))
    for label, load in (
        ("bare route", combine([r.bare_empty, r.bare_full])),
        ("appeals, empty database", r.empty),
        (f"appeals, {n} letters", r.full),
    ):
        web.add(
            Row(
                f"{label}: non-2xx/3xx + refused posts + socket errors",
                load.non_2xx_3xx + load.failures,
                "",
                "",
                None,
                "0",
                load.non_2xx_3xx + load.failures == 0,
            )
        )

    case = Table(f"Case page GET {CASE_PATH} through gunicorn (2 sync workers), wrk ({CONNECTIONS} connections)")
    e, f = r.page_empty, r.page_full
    case.add(Row("case page, empty case: requests", e.rps, "req/s"))
    case.add(Row("case page, empty case: p50 latency", e.p50_ms, "ms"))
    case.add(Row("case page, empty case: p99 latency", e.p99_ms, "ms"))
    case.add(
        Row(
            f"case page, {n} letters: requests",
            f.rps,
            "req/s",
            "empty case",
            f.rps / e.rps,
            ">= 0.8x",
            f.rps / e.rps >= 0.8,
        )
    )
    case.add(
        Row(
            f"case page, {n} letters: p50 latency",
            f.p50_ms,
            "ms",
            "empty case",
            f.p50_ms / e.p50_ms,
            "<= 1.2x",
            f.p50_ms / e.p50_ms <= 1.2,
        )
    )
    case.add(Row(f"case page, {n} letters: p99 latency", f.p99_ms, "ms", "empty case", f.p99_ms / e.p99_ms))
    for label, load in (("empty case", e), (f"{n} letters", f)):
        case.add(
            Row(
                f"case page, {label}: non-200 answers + socket errors",
                load.non_2xx_3xx + load.failures,
                "",
                "",
                None,
                "0",
                load.non_2xx_3xx + load.failures == 0,
            )
        )
    return [web, case]


def run(letters: int = LETTERS, rounds: int = ROUNDS, seconds: int = SECONDS) -> list[Table]:
    return tables(measure(letters, rounds, seconds), letters)


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--letters", type=int, default=LETTERS)
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    parser.add_argument("--seconds", type=int, default=SECONDS, help="per round")
    args = parser.parse_args()
    for table in run(args.letters, args.rounds, args.seconds):
        print(table.render(), end="\n\n")
