"""Bundles: the PDF of 300 maximal messages of hope, beside 300 ordinary ones rendered in the same run.

Each bundle goes the production way on a throw-away SQLite database: `create_bundle` claims the letters (what the
moderator's request does, timed on its own), then the mail worker's housekeeping task `render_due_bundles` renders
the PDF and stores it (timed). Messages are at the form's limit (HOPE_MAX_CHARS, 1,500 characters):

- ordinary (the baseline): about 200 characters of prose, in English, French, Spanish and Arabic in turn;
- newlines: 1,500 characters of line breaks between two words (blank runs collapse to one empty line);
- short lines: "a" and a line break, 750 times (shortened to about a page, with a note);
- unbroken: 1,500 characters without a space (wrapped, with break opportunities offered);
- prose: 1,500 characters of prose, the longest genuine letter.

Before the bounds, one message of newlines printed 36 pages, and 300 of them took 279 s inside the request; that
layout is rendered here for one message (the same page and font, without the bounds) to show what they replace.
Targets: at most a page per message (plus the cover); a bundle of pathological messages (newlines, short lines,
unbroken text) within 1.5x the time of one of the longest genuine letters (prose); the request's part (claiming 300
letters) under a second. The ordinary bundle is the everyday baseline.
"""

from __future__ import annotations

import io
import sys

from bench.common import Row, Table, Timer, temp_database

COUNT = 300
MAX_CHARS = 1500
ORDINARY = [
    "You are not alone. People all over the world know your name and are asking for your release. Stay strong: "
    "we will keep writing until you are free.",
    "Nous pensons à vous chaque jour. Votre courage nous inspire, et nous continuerons d'écrire jusqu'à votre "
    "libération. Tenez bon !",
    "Desde México te mandamos toda nuestra fuerza. No estás sola: miles de personas piden tu libertad.",
    "لستِ وحدكِ. نفكر فيكِ كل يوم ونطالب بالإفراج عنكِ. كوني قوية، سنواصل الكتابة حتى تتحرري.",
]
LANGUAGES = ["en", "fr", "es", "ar"]
PROSE = ("We are with you, and we will not stop writing until you are home with your family again. " * 20)[:MAX_CHARS]
MAXIMAL = {
    "newlines": "Courage" + "\n" * (MAX_CHARS - 14) + "Courage",
    "short lines": "a\n" * (MAX_CHARS // 2),
    "unbroken": "x" * MAX_CHARS,
    "prose": PROSE,
}
BEFORE_CSS = (
    "@page { size: A4; margin: 2cm; } body { font-family: 'Noto Sans', sans-serif; font-size: 12pt; }"
    " .letter { border: 1px solid #999; padding: 0.6cm; margin-bottom: 0.8cm; page-break-inside: avoid; }"
    " .letter p { white-space: pre-wrap; margin: 0 0 0.3cm; }"
)


def log(message: str) -> None:
    print(f"[bundles] {message}", file=sys.stderr, flush=True)


def _pages(pdf: bytes) -> int:
    from pypdf import PdfReader

    return len(PdfReader(io.BytesIO(pdf)).pages)


def bundle(app, name: str, messages: list[tuple[str, str]]) -> tuple[float, float, int]:
    """Claim and render one bundle of `messages` ((text, language) pairs): the request's seconds, the render's
    seconds, the PDF's pages."""
    from app.cases.models import Case, CaseTranslation
    from app.extensions import db
    from app.moderation import services
    from app.moderation.models import Bundle
    from app.solidarity.models import SolidarityLetter
    from app.staff.models import User

    with app.app_context():
        case = Case(slug=name.replace(" ", "-"), person_name="Ana Example", country="PT", published=True)
        case.translations.append(CaseTranslation(locale="en", headline="x"))
        db.session.add(case)
        db.session.flush()
        db.session.add_all(
            SolidarityLetter(
                case_id=case.id, first_name="Jane", country="FR", language=language, message=text, state="approved"
            )
            for text, language in messages
        )
        db.session.commit()
        moderator = db.session.query(User).first()
        with Timer() as request:
            bundle_id = services.create_bundle(case, moderator).id
            db.session.commit()
        with Timer() as render:
            services.render_due_bundles(max_seconds=3600)
        row = db.session.get(Bundle, bundle_id)
        assert row.state == "ready", (row.state, row.failure_detail)
        pages = _pages(row.pdf)
    log(f"{name}: request {request.seconds * 1000:.0f} ms, render {render.seconds:.1f} s, {pages} pages")
    return request.seconds, render.seconds, pages


def before(message: str) -> tuple[float, int]:
    """One message with the layout bundles had before their bounds: seconds and pages."""
    from html import escape

    from app.moderation.pdf import html_to_pdf

    html = f"<html><head><style>{BEFORE_CSS}</style></head><body><article class=letter><p>{escape(message)}</p>"
    with Timer() as timer:
        pdf = html_to_pdf(html + "</article></body></html>")
    return timer.seconds, _pages(pdf)


def run(count: int = COUNT) -> Table:
    from app import create_app
    from app.extensions import db
    from app.staff.services import create_user
    from config import TestConfig

    table = Table(f"Bundles: the PDF of {count} messages of hope, rendered by the mail worker (SQLite)")
    with temp_database("sqlite") as url:
        app = create_app(TestConfig, {"SQLALCHEMY_DATABASE_URI": url, "BUNDLE_MAX_LETTERS": count})
        with app.app_context():
            create_user("mod@bench.example.org", "bench moderator password, long enough", "moderator")
            db.session.commit()
        bundle(app, "warm-up", [(ORDINARY[0], "en")])  # fonts and WeasyPrint loaded once, before any timing
        ordinary = bundle(app, "ordinary", [(ORDINARY[n % 4], LANGUAGES[n % 4]) for n in range(count)])
        maximal = {name: bundle(app, name, [(text, "en")] * count) for name, text in MAXIMAL.items()}
        with app.app_context():
            before_seconds, before_pages = before(MAXIMAL["newlines"])

    prose = maximal.pop("prose")
    table.add(Row(f"{count} ordinary messages (~200 characters): render", ordinary[1], "s"))
    table.add(Row(f"{count} ordinary messages: pages", ordinary[2], "pages"))
    table.add(
        Row(f"{count} messages of 1,500 characters of prose: render", prose[1], "s", "ordinary", prose[1] / ordinary[1])
    )
    table.add(Row(f"{count} messages of prose: pages", prose[2], "pages", "ordinary", prose[2] / ordinary[2]))
    for name, (_request, render, pages) in maximal.items():
        ratio = render / prose[1]
        table.add(
            Row(f"{count} maximal messages, {name}: render", render, "s", "prose", ratio, "<= 1.5x", ratio <= 1.5)
        )
        table.add(
            Row(
                f"{count} maximal messages, {name}: pages",
                pages,
                "pages",
                target=f"<= {count + 1}",
                ok=pages <= count + 1,
            )
        )
    slowest = max(request for request, _render, _pages in [ordinary, prose, *maximal.values()])
    table.add(
        Row(
            f"create bundle (the request), {count} letters, slowest",
            slowest * 1000,
            "ms",
            target="< 1,000 ms",
            ok=slowest < 1,
        )
    )
    table.add(Row("1 message of newlines, the layout before: render", before_seconds, "s"))
    table.add(Row("1 message of newlines, the layout before: pages", before_pages, "pages"))
    return table


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=COUNT)
    print(run(parser.parse_args().count).render())
