"""CSV exports: right figures, safe against spreadsheet formulas, streamed."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import pytest

from app.exports import services
from app.extensions import db
from app.letters.models import Appeal
from tests.factories import make_case


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
