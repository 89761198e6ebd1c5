"""Dispatch: messages per second from the outbox to an SMTP sink, beside naive Flask-Mail and a plain smtplib loop.

(a) a fast local sink: the worker must reach 2x naive Flask-Mail (one connection per message) and 70% of a plain
    smtplib loop sending prebuilt messages over one connection, while recording every message's fate;
(b) a sink that waits 20 ms before each reply, like a remote government server: the worker must reach 30x naive.
"""

from __future__ import annotations

import smtplib

import sqlalchemy as sa

from bench.common import Row, Table, Timer, smtp_sink, temp_database

RECIPIENT = "minister@justice.example.org"


def _app(url: str, port: int, **config):
    from app import create_app
    from config import TestConfig

    return create_app(
        TestConfig,
        {
            "SQLALCHEMY_DATABASE_URI": url,
            "MAIL_SERVER": "127.0.0.1",
            "MAIL_PORT": port,
            "MAIL_TIMEOUT": 30,
            "MAIL_SUPPRESS_SEND": False,
            **config,
        },
    )


def _queue_appeals(app, count: int) -> None:
    """`count` queued appeal emails to one authority address, as confirmed appeals leave them."""
    from app.cases.models import Case, CaseTranslation, Target, TargetAddress
    from app.extensions import db
    from app.mail import outbox
    from app.mail.compose import Email

    with app.app_context():
        case = Case(slug="bench", person_name="Bench Case", country="PT", published=True)
        case.translations.append(CaseTranslation(locale="en", headline="x"))
        target = Target(name="Ministry", country="PT", max_per_hour=10_000_000)
        target.addresses.append(TargetAddress(email=RECIPIENT))
        case.targets.append(target)
        db.session.add(case)
        db.session.flush()
        address_id = target.addresses[0].id
        for n in range(count):
            outbox.enqueue(
                Email(subject="Free Bench Case", text=_letter(n), sender_name=f"Supporter {n} via Inkwell"),
                kind="appeal",
                recipient=RECIPIENT,
                target_address_id=address_id,
            )
            if n % 1000 == 999:
                db.session.commit()
        db.session.commit()
        db.engine.dispose()


def _letter(n: int) -> str:
    return f"Dear Minister,\n\nPlease release Bench Case. Letter number {n}.\n\n" + "Yours sincerely,\n" * 3


def naive_flask_mail(port: int, count: int) -> float:
    """What a first version would do: build and `mail.send()` each message, one SMTP connection each."""
    from flask_mail import Message

    from app.extensions import mail

    app = _app("sqlite://", port)
    with app.app_context(), Timer() as timer:
        for n in range(count):
            mail.send(
                Message(
                    "Free Bench Case", sender="appeals@inkwell.example.org", recipients=[RECIPIENT], body=_letter(n)
                )
            )
    return count / timer.seconds


def smtplib_loop(port: int, count: int) -> float:
    """The ceiling: prebuilt messages over one connection, nothing recorded."""
    from email.message import EmailMessage

    messages = []
    for n in range(count):
        msg = EmailMessage()
        msg["From"], msg["To"], msg["Subject"] = "appeals@inkwell.example.org", RECIPIENT, "Free Bench Case"
        msg.set_content(_letter(n))
        messages.append(msg.as_bytes())
    with Timer() as timer:
        smtp = smtplib.SMTP("127.0.0.1", port)
        for data in messages:
            smtp.sendmail("appeals@inkwell.example.org", [RECIPIENT], data)
        smtp.quit()
    return count / timer.seconds


def worker_drain(url: str, port: int, count: int, connections: int | None) -> float:
    from app.extensions import db
    from app.mail.models import OutboundMessage
    from app.mail.worker import Worker

    app = _app(url, port, **({"MAIL_CONNECTIONS": connections} if connections else {}))
    _queue_appeals(app, count)
    with app.app_context():
        with Timer() as timer:
            stats = Worker(app).run(drain=True)
        sent = db.session.scalar(sa.select(sa.func.count()).where(OutboundMessage.state == "sent"))
        db.engine.dispose()
    if stats.sent != count or sent != count:
        raise SystemExit(f"the worker recorded {sent} of {count} messages as sent")
    return count / timer.seconds


def run(count: int = 10_000, database: str = "postgresql") -> Table:
    table = Table(f"Dispatch: {count:,} queued appeals to a local SMTP sink ({database})")
    with smtp_sink(0.0) as port:
        naive = naive_flask_mail(port, min(count, 2000))
        ceiling = smtplib_loop(port, count)
        with temp_database(database) as url:
            ours = worker_drain(url, port, count, connections=None)
    table.add(Row("naive Flask-Mail, fast sink", naive, "msg/s"))
    table.add(Row("smtplib loop, one connection, fast sink", ceiling, "msg/s"))
    table.add(Row("worker, fast sink", ours, "msg/s", "naive Flask-Mail", ours / naive, ">= 2x", ours / naive >= 2))
    table.add(Row("worker, fast sink", ours, "msg/s", "smtplib loop", ours / ceiling, ">= 0.7x", ours / ceiling >= 0.7))

    with smtp_sink(0.020) as port:
        slow_naive = naive_flask_mail(port, 100)
        with temp_database(database) as url:
            slow_ours = worker_drain(url, port, count, connections=32)
    table.add(Row("naive Flask-Mail, 20 ms sink", slow_naive, "msg/s"))
    table.add(
        Row(
            "worker (32 connections), 20 ms sink",
            slow_ours,
            "msg/s",
            "naive Flask-Mail",
            slow_ours / slow_naive,
            ">= 30x",
            slow_ours / slow_naive >= 30,
        )
    )
    return table


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--database", choices=["postgresql", "sqlite"], default="postgresql")
    args = parser.parse_args()
    print(run(args.count, args.database).render())
