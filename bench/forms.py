"""Hostile form bodies: what a stranger's POST costs the server, beside an ordinary appeal posted in the same run.

In-process through Flask's test client on a throw-away PostgreSQL database (the CPU of one sync worker is what a
flood of such requests takes away; the network is not measured). Each figure is the median of ROUNDS requests:

- ordinary (the baseline): an appeal with one mistake (no country), so the form is shown again with its message,
  as a supporter sees it many times a day (no row is written, so every round does the same work);
- 2 MB of `a=&a=&...`, to the appeal form and to a page that does not exist (both refused before a byte is read);
- the most fields a visitor's form may carry bytes-wise (just under FORM_MAX_BYTES of `a=&`): refused by the field
  count (MAX_FORM_PARTS) once read, before any field is decoded;
- the costliest body still parsed: one field of FORM_MAX_BYTES of percent-escapes, every one decoded, beside the
  longest letter the form takes (6,000 Chinese characters, 54 KB of escapes), with the same mistake;
- what the same 2 MB flood cost before, parsed whole by Python's `parse_qsl` (the old before-request hook did that,
  then the form parser did it again), for reference.

Targets: every hostile body under 50 ms; those refused unparsed at most 1x an ordinary appeal, the costliest parsed
one at most 3x the longest letter (it carries 2.4 times its bytes).
"""

from __future__ import annotations

import statistics
import sys
import time
from urllib.parse import parse_qsl

from bench.common import Row, Table, temp_database

ROUNDS = 15
FLOOD = b"a=&" * (2 * 1024 * 1024 // 3)


def log(message: str) -> None:
    print(f"[forms] {message}", file=sys.stderr, flush=True)


def median_seconds(send) -> float:
    timings = []
    for n in range(ROUNDS):
        start = time.perf_counter()
        send(n)
        timings.append(time.perf_counter() - start)
    return statistics.median(timings)


def run() -> Table:
    from app import create_app
    from app.extensions import db
    from config import TestConfig
    from tests.factories import make_case

    table = Table("Hostile form bodies (one request each, in-process, PostgreSQL)")
    with temp_database() as url:
        app = create_app(TestConfig, {"SQLALCHEMY_DATABASE_URI": url})
        with app.app_context():
            make_case(slug="ana")
            db.session.commit()
        client = app.test_client()
        limit = app.config["FORM_MAX_BYTES"]

        def post(path: str, body: bytes):
            response = client.post(path, data=body, content_type="application/x-www-form-urlencoded")
            response.get_data()
            return response.status_code

        def ordinary(_n: int):
            body = (
                b"name=Jane+Doe&email=jane%40example.net&country=&letter_language=en&consent_share=y"
                b"&letter=Dear+Minister%2C%0A%0APlease+release+her.%0A%0AYours+sincerely%2C"
            )
            assert post("/en/cases/ana/appeal/", body) == 400

        def longest(_n: int):
            body = b"name=Jane+Doe&email=jane%40example.net&country=&letter_language=en&letter="
            assert post("/en/cases/ana/appeal/", body + b"%E6%84%9B" * 6000) == 400

        log("ordinary appeals")
        baseline = median_seconds(ordinary)
        table.add(Row("ordinary appeal with a mistake, form shown again", baseline * 1000, "ms"))
        longest_letter = median_seconds(longest)
        table.add(Row("the longest letter (6,000 Chinese characters), same mistake", longest_letter * 1000, "ms"))
        escapes = b"letter=" + b"%E4%BD%A0" * ((limit - 100) // 9)
        refused = ("ordinary appeal", baseline, 1)
        hostile = {
            "2 MB of `a=&`, to the appeal form": ("/en/cases/ana/appeal/", FLOOD, 413, refused),
            "2 MB of `a=&`, to a page that does not exist": ("/en/cases/ana/nowhere/", FLOOD, 404, refused),
            "just under FORM_MAX_BYTES of `a=&`": ("/en/cases/ana/appeal/", FLOOD[: limit - 1], 413, refused),
            "one field of FORM_MAX_BYTES of escapes (parsed)": (
                "/en/cases/ana/appeal/",
                escapes,
                400,
                ("the longest letter", longest_letter, 3),
            ),
        }
        for name, (path, body, status, (against, reference, most)) in hostile.items():
            log(name)

            def send(_n, path=path, body=body, status=status):
                assert post(path, body) == status

            seconds = median_seconds(send)
            ratio = seconds / reference
            ok = seconds < 0.05 and ratio <= most
            table.add(Row(name, seconds * 1000, "ms", against, ratio, f"< 50 ms, <= {most}x", ok))
        log("the old parse, for reference")
        before = median_seconds(lambda _n: parse_qsl(FLOOD.decode("ascii"), keep_blank_values=True))
        table.add(
            Row(
                "before: `parse_qsl` of the 2 MB flood, once", before * 1000, "ms", "ordinary appeal", before / baseline
            )
        )
    return table


if __name__ == "__main__":
    print(run().render())
