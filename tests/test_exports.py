"""CSV exports: right figures, safe against spreadsheet formulas, streamed."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from app.appeals.models import Appeal
from app.exports import services
from app.extensions import db
from app.models_base import utcnow
from app.staff.models import AdminEvent
from tests.factories import make_case, sign_in


def appeal(case, n, *, country="FR", when=datetime(2026, 12, 10, 9, tzinfo=UTC), state="confirmed", **fields):
    row = Appeal(
        case_id=case.id,
        public_id=f"p{n}",
        name=fields.pop("name", f"Writer {n}"),
        email=f"w{n}@example.net",
        email_digest=f"d{n}",
        country=country,
        locale="fr",
        letter_language="fr",
        subject="s",
        letter="l",
        consent_share=True,
        state=state,
        confirmed_at=when if state == "confirmed" else None,
        **fields,
    )
    db.session.add(row)
    return row


@pytest.fixture
def data(app):
    case = make_case(slug="ana")
    other = make_case(slug="bo")
    appeal(case, 1)
    appeal(case, 2)
    appeal(case, 3, country="MX")
    appeal(case, 4, when=datetime(2026, 12, 11, 23, 59, tzinfo=UTC))
    appeal(case, 5, state="unconfirmed")
    appeal(other, 6, consent_updates=True, name='=HYPERLINK("http://evil.example","x")')
    appeal(other, 7, consent_updates=True, name="+33 6 12 34 56 78")
    db.session.commit()


def read(name: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO("".join(services.export_lines(name)))))


def test_appeal_counts_per_case_country_and_day(data):
    rows = read("appeals")
    assert rows[0] == ["case", "country", "day", "appeals"]
    assert rows[1:] == [
        ["ana", "FR", "2026-12-10", "2"],
        ["ana", "MX", "2026-12-10", "1"],
        ["ana", "FR", "2026-12-11", "1"],
        ["bo", "FR", "2026-12-10", "2"],
    ]
    assert services.export_size("appeals") == 4


def test_supporters_export_has_only_those_who_opted_in_and_neutralises_formulas(data):
    rows = read("supporters")
    assert rows[0] == services.SUPPORTERS_HEADER
    assert [r[1] for r in rows[1:]] == ["w6@example.net", "w7@example.net"]
    assert rows[1][0] == '\'=HYPERLINK("http://evil.example","x")'
    assert rows[2][0] == "'+33 6 12 34 56 78"


@pytest.mark.parametrize("value", ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx"])
def test_formula_triggers_are_prefixed(value):
    assert services.safe_cell(value) == "'" + value


def test_export_is_a_stream(data):
    lines = services.export_lines("supporters")
    assert next(lines).startswith("name,email")
    assert next(lines).startswith("\"'=HYPERLINK")


def test_cli_writes_the_file_with_a_progress_bar(runner, data, tmp_path):
    target = tmp_path / "supporters.csv"
    result = runner.invoke(args=["export", "supporters", "-o", str(target)])
    assert result.exit_code == 0, result.output
    assert "2 rows written" in result.output
    assert target.read_bytes().count(b"\r\n") == 3


def test_cli_refuses_an_unwritable_path_with_one_line(runner, data):
    result = runner.invoke(args=["export", "appeals", "-o", "/nonexistent-dir/x.csv"])
    assert result.exit_code != 0
    assert "Error:" in result.output and "Traceback" not in result.output


# The downloads in the browser: the same files, streamed by the staff pages.


def audit_rows() -> list[AdminEvent]:
    db.session.expire_all()
    return list(db.session.scalars(sa.select(AdminEvent).order_by(AdminEvent.id)))


@pytest.mark.parametrize(
    ("method", "path"), [("GET", "/admin/exports/appeals.csv"), ("POST", "/admin/exports/supporters.csv")]
)
def test_downloads_send_anonymous_visitors_to_sign_in(client, data, method, path):
    response = client.open(path, method=method)
    assert response.status_code == 302
    assert "/admin/login" in response.headers["Location"]
    assert audit_rows() == []


@pytest.mark.parametrize(
    ("method", "path"), [("GET", "/admin/exports/appeals.csv"), ("POST", "/admin/exports/supporters.csv")]
)
def test_moderators_may_not_download(client, data, staff, method, path):
    assert sign_in(client, "mod@inkwell.example.org").status_code == 302
    response = client.open(path, method=method)
    assert response.status_code == 403
    assert b"w6@example.net" not in response.data
    assert audit_rows() == []


def test_admin_downloads_the_supporters_as_a_streamed_csv_and_it_is_audited(client, data, staff):
    assert sign_in(client, "admin@inkwell.example.org").status_code == 302
    response = client.post("/admin/exports/supporters.csv", buffered=False)
    assert response.status_code == 200
    assert response.is_streamed
    assert response.content_type == "text/csv; charset=utf-8"
    assert response.headers["Content-Disposition"] == (
        f'attachment; filename="inkwell-supporters-{utcnow():%Y-%m-%d}.csv"'
    )
    assert response.headers["Cache-Control"] == "no-store"
    raw = b"".join(response.iter_encoded())
    response.close()
    assert raw.startswith(b"\xef\xbb\xbf")  # a UTF-8 byte-order mark: spreadsheets then read names right
    body = raw.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(body)))
    assert rows[0] == services.SUPPORTERS_HEADER
    assert [r[1] for r in rows[1:]] == ["w6@example.net", "w7@example.net"]
    assert [r[4] for r in rows[1:]] == ["bo", "bo"]
    # Formulas stay text in the file the browser saves.
    assert rows[1][0] == '\'=HYPERLINK("http://evil.example","x")'
    assert rows[2][0] == "'+33 6 12 34 56 78"
    assert "\r\n=" not in body and not body.startswith("=")

    [event] = audit_rows()
    assert event.actor.email == "admin@inkwell.example.org"
    assert event.action == "download supporters export"
    assert event.object_type == "CsvExport"
    assert event.details == "2 rows"
    assert "downloaded the supporters&#39; export" in client.get("/admin/changes").get_data(as_text=True)


def test_the_supporters_download_needs_a_post(client, data, staff):
    assert sign_in(client, "admin@inkwell.example.org").status_code == 302
    assert client.get("/admin/exports/supporters.csv").status_code == 405
    assert audit_rows() == []


def test_admin_downloads_the_appeal_counts(client, data, staff):
    assert sign_in(client, "admin@inkwell.example.org").status_code == 302
    response = client.get("/admin/exports/appeals.csv")
    assert response.status_code == 200
    assert response.is_streamed
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"].startswith('attachment; filename="inkwell-appeals-')
    rows = list(csv.reader(io.StringIO(response.get_data().decode("utf-8-sig"))))
    assert rows == [
        ["case", "country", "day", "appeals"],
        ["ana", "FR", "2026-12-10", "2"],
        ["ana", "MX", "2026-12-10", "1"],
        ["ana", "FR", "2026-12-11", "1"],
        ["bo", "FR", "2026-12-10", "2"],
    ]
    assert audit_rows() == []  # figures without personal data: no audit row


def test_a_large_download_arrives_in_pieces_without_a_full_copy(app, client, staff, monkeypatch):
    monkeypatch.setattr(services, "YIELD_PER", 100)
    case = make_case(slug="big")
    for n in range(3000):
        appeal(case, n, consent_updates=True, name=f"-Writer {n}")
    db.session.commit()
    assert sign_in(client, "admin@inkwell.example.org").status_code == 302
    response = client.post("/admin/exports/supporters.csv", buffered=False)
    chunks = list(response.response)
    response.close()
    assert len(chunks) > 2  # several pieces of ~64 KB, not one string holding the whole file
    assert max(len(chunk) for chunk in chunks) < 2 * 64 * 1024
    rows = list(csv.reader(io.StringIO(b"".join(chunks).decode("utf-8-sig"))))
    assert len(rows) == 3001
    assert all(row[0].startswith("'-Writer ") for row in rows[1:])


def test_the_dashboard_offers_the_downloads(client, data, staff):
    assert sign_in(client, "admin@inkwell.example.org").status_code == 302
    html = client.get("/admin/dashboard").get_data(as_text=True)
    assert 'href="/admin/exports/appeals.csv"' in html
    assert 'action="/admin/exports/supporters.csv"' in html
