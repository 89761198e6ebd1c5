"""Export: the opted-in supporters' CSV of 1,000,000 rows in bounded memory, beside a naive export in the same run.

A throw-away PostgreSQL database gets confirmed appeals whose writers asked for news of the case, inserted with one
`INSERT ... SELECT generate_series` (one name in ten is a formula, `=1+1 ...`, which the export must neutralise).
Each measurement runs in its own process (`python -m bench.export --child ...`), which reports its peak RSS
while exporting: /proc/self/status's VmHWM, reset through /proc/self/clear_refs once the app is up and connected, so
that start-up's own peak does not hide the export's. (Not wait4's ru_maxrss: on Linux a child's ru_maxrss starts
at its parent's RSS when it was forked, and this parent has the app loaded too.) The exports:

- streaming service: `app.exports.services.export_lines("supporters")`, the code behind `flask export supporters`
  and the admin download: a server-side cursor read `YIELD_PER` rows at a time, one CSV line at a time, written out;
- admin route: POST /admin/exports/supporters.csv through Flask's test client, signed in as an admin, the streamed
  body read chunk by chunk (`buffered=False`) and thrown away; it also counts the rows and writes the audit row;
- naive baseline: the same query and the same CSV writer, but the rows loaded with `.all()` and the file built in
  memory (`"".join(...)`) before being written, as an export written without thought for size would do.

Each is run on 100,000 rows and again on 1,000,000 (the same table, filled up between the two). Targets: the
streaming exports' peak does not grow with the rows (1,000,000 within 20% of 100,000), stays under a fifth of the
naive one's at 1,000,000, and streaming costs no more than 30% of the naive export's speed.
"""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass

import sqlalchemy as sa

from bench.common import ROOT, Row, Table, temp_database, vacuum

SMALL = 100_000
LARGE = 1_000_000
ADMIN_EMAIL = "admin@bench.example.org"
ADMIN_PASSWORD = "bench admin password, long enough"  # noqa: S105 - throw-away database
MODES = ("idle", "naive", "service", "route")


def log(message: str) -> None:
    print(f"[export] {message}", file=sys.stderr, flush=True)


def _app(url: str):
    from app import create_app
    from config import TestConfig

    return create_app(TestConfig, {"SQLALCHEMY_DATABASE_URI": url})


# --- data -------------------------------------------------------------------------------------------------------


def seed(url: str) -> int:
    """A case and an admin account; the case's id."""
    from app.cases.models import Case, CaseTranslation
    from app.extensions import db
    from app.staff.services import create_user

    app = _app(url)
    with app.app_context():
        case = Case(slug="export", person_name="Export Case", country="PT", published=True)
        case.translations.append(CaseTranslation(locale="en", headline="x"))
        db.session.add(case)
        create_user(ADMIN_EMAIL, ADMIN_PASSWORD, "admin")
        db.session.commit()
        case_id = case.id
        db.engine.dispose()
    return case_id


def store_appeals(url: str, case_id: int, first: int, last: int) -> None:
    """Confirmed appeals number `first` to `last` whose writers opted in to news: one INSERT ... SELECT."""
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO appeals (public_id, case_id, name, email, email_digest, country, locale, letter_language,"
                " subject, letter, consent_share, consent_reply, consent_updates, state, created_at, confirmed_at)"
                " SELECT 'x' || g, :case_id,"
                " CASE WHEN g % 10 = 0 THEN '=1+1 Supporter ' || g ELSE 'Supporter ' || g END,"
                " 'supporter-' || g || '@example.net', md5('d' || g) || md5('e' || g),"
                " (ARRAY['FR', 'MX', 'PT', 'SN', 'LB'])[1 + g % 5], (ARRAY['fr', 'es', 'en', 'ar'])[1 + g % 4], 'en',"
                " 'Release Export Case now', 'Dear Minister, please release Export Case.', true, false, true,"
                " 'confirmed', now() - make_interval(secs => g + 60), now() - make_interval(secs => g)"
                " FROM generate_series(CAST(:first AS integer), CAST(:last AS integer)) AS g"
            ),
            {"case_id": case_id, "first": first, "last": last},
        )
    vacuum(engine, "appeals")
    engine.dispose()


# --- the measured exports, each in its own process ---------------------------------------------------------------


def _naive(out) -> int:
    """What an export without thought for size does: every row in a list, the whole file in a string."""
    from sqlalchemy import select

    from app.appeals.models import Appeal
    from app.cases.models import Case
    from app.exports import services
    from app.extensions import db

    query = (
        select(Appeal.name, Appeal.email, Appeal.country, Appeal.locale, Case.slug, Appeal.confirmed_at)
        .join(Case, Case.id == Appeal.case_id)
        .where(Appeal.state == "confirmed", Appeal.consent_updates.is_(True), Appeal.email != "")
        .order_by(Appeal.id)
    )
    rows = db.session.execute(query).all()
    text = "".join(services.csv_lines(services.SUPPORTERS_HEADER, ((*row[:5], row[5].isoformat()) for row in rows)))
    out.write(text)
    return text.count("\n") - 1


def _service(out) -> int:
    from app.exports import services

    rows = -1  # the header
    formulas = 0
    for line in services.export_lines("supporters"):
        out.write(line)
        rows += 1
        formulas += line.startswith("'=")
    if formulas * 10 != rows:
        raise SystemExit(f"{formulas} neutralised formulas in {rows} rows, expected one in ten")
    return rows


def _route(out, app) -> int:
    client = app.test_client()
    signed_in = client.post("/admin/login", data={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
    if signed_in.status_code != 302:
        raise SystemExit(f"sign-in failed: {signed_in.status_code}")
    response = client.post("/admin/exports/supporters.csv", buffered=False)
    if response.status_code != 200 or not response.is_streamed:
        raise SystemExit(f"download failed: {response.status_code}, streamed: {response.is_streamed}")
    newlines = 0
    for chunk in response.response:  # bytes, ~64 KB each, as a WSGI server would send them
        out.write(chunk)
        newlines += chunk.count(b"\n")
    response.close()
    return newlines - 1


def _reset_peak_rss() -> bool:
    """Forget the peak RSS so far (start-up's), so that VmHWM then measures the export alone (Linux >= 4.0)."""
    try:
        with open("/proc/self/clear_refs", "w") as clear_refs:
            clear_refs.write("5")
    except OSError:
        return False
    return True


def child(mode: str, url: str) -> None:
    """Run one export to /dev/null; print its rows, duration, RSS before and peak RSS during it, as JSON."""
    app = _app(url)
    with app.app_context():
        from app.extensions import db

        db.session.execute(sa.text("SELECT 1"))  # connected before the clock starts, in every mode alike
        db.session.rollback()
        gc.collect()
        reset = _reset_peak_rss()
        before_kb = _status_kb("VmRSS")
        start = time.perf_counter()
        if mode == "route":
            with open(os.devnull, "wb") as out:
                rows = _route(out, app)
        elif mode == "idle":
            rows = 0
        else:
            with open(os.devnull, "w", encoding="utf-8", newline="") as out:
                rows = {"naive": _naive, "service": _service}[mode](out)
        seconds = time.perf_counter() - start
        peak_kb = _status_kb("VmHWM")
    print(
        json.dumps({"rows": rows, "seconds": seconds, "before_kb": before_kb, "peak_kb": peak_kb, "reset": reset}),
        flush=True,
    )


@dataclass
class Run:
    mode: str
    rows: int
    seconds: float
    before_kb: int  # RSS when the export starts: the app created, its database connection open
    peak_kb: int  # peak RSS while exporting (the child's VmHWM, reset when the export starts)

    @property
    def rate(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0

    @property
    def peak_mib(self) -> float:
        return self.peak_kb / 1024

    @property
    def added_mib(self) -> float:
        return max(self.peak_kb - self.before_kb, 0) / 1024


def _status_kb(field: str) -> int:
    """VmRSS (resident now) or VmHWM (peak resident, since start or the last reset) of this process, in kB."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise LookupError(field)


def measure_one(mode: str, url: str, expected: int) -> Run:
    output = tempfile.TemporaryFile()
    errors = tempfile.TemporaryFile()
    process = subprocess.Popen(
        [sys.executable, "-m", "bench.export", "--child", mode, "--url", url], cwd=ROOT, stdout=output, stderr=errors
    )
    process.wait()
    output.seek(0)
    errors.seek(0)
    if process.returncode != 0:
        raise SystemExit(f"the {mode} export failed ({process.returncode}):\n{errors.read()[-5000:].decode()}")
    result = json.loads(output.read().decode().strip().splitlines()[-1])
    if result["rows"] != expected:
        raise SystemExit(f"the {mode} export wrote {result['rows']} rows, expected {expected}")
    if not result["reset"]:
        log("cannot reset the peak RSS (/proc/self/clear_refs): peaks include start-up")
    run = Run(mode, result["rows"], result["seconds"], result["before_kb"], result["peak_kb"])
    log(
        f"{mode:8} {run.rows:>9,} rows in {run.seconds:5.1f} s ({run.rate:,.0f} rows/s), RSS {run.before_kb / 1024:.1f}"
        f" MiB before, peak {run.peak_mib:.1f} MiB while exporting"
    )
    return run


def measure(small: int = SMALL, large: int = LARGE) -> dict[tuple[str, int], Run]:
    runs: dict[tuple[str, int], Run] = {}
    with temp_database() as url:
        case_id = seed(url)
        runs["idle", 0] = measure_one("idle", url, 0)
        stored = 0
        for size in (small, large):
            started = time.perf_counter()
            store_appeals(url, case_id, stored + 1, size)
            stored = size
            log(f"{size:,} appeals stored in {time.perf_counter() - started:.1f} s")
            for mode in ("naive", "service", "route"):
                runs[mode, size] = measure_one(mode, url, size)
    return runs


def table(runs: dict[tuple[str, int], Run], small: int = SMALL, large: int = LARGE) -> Table:
    idle = runs["idle", 0]
    naive_small, naive = runs["naive", small], runs["naive", large]
    service_small, service = runs["service", small], runs["service", large]
    route_small, route = runs["route", small], runs["route", large]
    t = Table(f"Supporters' CSV export, {large:,} rows (each export in its own process, PostgreSQL, to /dev/null)")
    t.add(Row("RSS when an export starts (app created, database connected)", idle.before_kb / 1024, "MiB"))
    t.add(Row(f"naive (`.all()`, file built in memory), {small:,} rows: peak RSS", naive_small.peak_mib, "MiB"))
    t.add(
        Row(
            f"naive, {large:,} rows: peak RSS",
            naive.peak_mib,
            "MiB",
            f"naive, {small:,} rows",
            naive.peak_kb / naive_small.peak_kb,
        )
    )
    t.add(Row(f"streaming service, {small:,} rows: peak RSS", service_small.peak_mib, "MiB"))
    for name, small_run, large_run in (
        ("streaming service", service_small, service),
        ("admin route (test client, body read chunk by chunk)", route_small, route),
    ):
        if small_run is route_small:
            t.add(Row(f"{name}, {small:,} rows: peak RSS", small_run.peak_mib, "MiB"))
        grows = large_run.peak_kb / small_run.peak_kb
        t.add(
            Row(
                f"{name}, {large:,} rows: peak RSS",
                large_run.peak_mib,
                "MiB",
                f"the same, {small:,} rows",
                grows,
                "<= 1.2x",
                grows <= 1.2,
            )
        )
        share = large_run.peak_kb / naive.peak_kb
        t.add(
            Row(
                f"{name}, {large:,} rows: peak RSS",
                large_run.peak_mib,
                "MiB",
                f"naive, {large:,} rows",
                share,
                "<= 0.2x",
                share <= 0.2,
            )
        )
    t.add(Row(f"naive, {large:,} rows: memory added by the export (peak - start)", naive.added_mib, "MiB"))
    for name, large_run in (("streaming service", service), ("admin route", route)):
        t.add(
            Row(
                f"{name}, {large:,} rows: memory added by the export",
                large_run.added_mib,
                "MiB",
                "naive",
                large_run.added_mib / naive.added_mib,
            )
        )
    t.add(Row(f"naive, {large:,} rows: rate", naive.rate, "rows/s"))
    for name, large_run in (("streaming service", service), ("admin route", route)):
        t.add(
            Row(
                f"{name}, {large:,} rows: rate",
                large_run.rate,
                "rows/s",
                "naive",
                large_run.rate / naive.rate,
                ">= 0.7x",
                large_run.rate / naive.rate >= 0.7,
            )
        )
    return t


def run(small: int = SMALL, large: int = LARGE) -> Table:
    return table(measure(small, large), small, large)


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--small", type=int, default=SMALL)
    parser.add_argument("--large", type=int, default=LARGE)
    parser.add_argument("--child", choices=MODES, help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.url)
    else:
        print(run(args.small, args.large).render())
