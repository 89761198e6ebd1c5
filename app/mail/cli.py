"""`flask mail ...`: run the worker, see the outbox, run a local catch-all SMTP server."""

from __future__ import annotations

import signal
import threading
import time

import click
from flask import current_app
from flask.cli import AppGroup

from app.cases import services as cases
from app.extensions import db
from app.mail import watch
from app.mail.worker import Worker

mail_cli = AppGroup("mail", help="Deliver queued email and watch the outbox.")


def run_housekeeping(app) -> None:
    """Periodic tasks other features register (expiring appeals, digests, bundles, news); each commits its own work."""
    for task in app.extensions.get("inkwell_housekeeping", []):
        try:
            task()
            db.session.commit()
        except Exception:
            db.session.rollback()
            current_app.logger.exception("housekeeping task %s failed", getattr(task, "__name__", task))


@mail_cli.command("work")
@click.option("--drain", is_flag=True, help="Send everything due now, then exit.")
@click.option("--connections", type=click.IntRange(1, 64), help="Parallel SMTP connections (MAIL_CONNECTIONS).")
@click.option("--batch-size", type=click.IntRange(1, 1000), help="Messages leased at a time (MAIL_BATCH_SIZE).")
def work(drain: bool, connections: int | None, batch_size: int | None) -> None:
    """Deliver queued email until stopped (SIGTERM or Ctrl-C finish the current message, then exit)."""
    app = current_app._get_current_object()
    stop = threading.Event()

    def request_stop(signum, frame):
        click.echo("Stopping after the current messages...", err=True)
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    totals = {"sent": 0, "retry": 0, "failed": 0}
    every = app.config["HOUSEKEEPING_SECONDS"]
    last_housekeeping = 0.0
    while not stop.is_set():
        if time.monotonic() - last_housekeeping >= every:
            run_housekeeping(app)
            last_housekeeping = time.monotonic()
        worker = Worker(app, lanes=connections, batch_size=batch_size, stop=stop)
        # A long-running worker returns now and then so that housekeeping runs between rounds.
        stats = worker.run(drain=True)
        for key in totals:
            totals[key] += getattr(stats, key)
        if drain:
            if worker.errors:
                echo_totals(totals)
                raise click.ClickException(
                    f"delivery stopped: {type(worker.errors[-1]).__name__} again and again (the log has the details)"
                )
            break
        if not (stats.sent or stats.retry or stats.failed):
            stop.wait(app.config["MAIL_IDLE_SECONDS"])
    echo_totals(totals)


def echo_totals(totals: dict[str, int]) -> None:
    click.echo(f"sent {totals['sent']}, to retry {totals['retry']}, failed {totals['failed']}")


@mail_cli.command("status")
def status() -> None:
    """Counts of messages by state and the age of the oldest one waiting."""
    report = watch.outbox_status()
    for state, count in report.counts.items():
        click.echo(f"{state:8} {count}")
    if report.oldest_due_age is None:
        click.echo("oldest waiting: none")
    else:
        click.echo(f"oldest waiting: {int(report.oldest_due_age.total_seconds())}s")


@mail_cli.command("housekeeping")
def housekeeping() -> None:
    """Run the periodic tasks once (expire unconfirmed appeals, build and split daily digests, render bundles,
    expand news emails)."""
    run_housekeeping(current_app._get_current_object())
    click.echo("done")


@mail_cli.command("devserver")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8025, show_default=True, type=int)
@click.option("--directory", help="Where to store messages (DEV_MAILBOX_DIR).")
def devserver(host: str, port: int, directory: str | None) -> None:
    """A local catch-all SMTP server that stores every message as a file (for trying Inkwell)."""
    from app.mail.devserver import serve

    directory = directory or current_app.config["DEV_MAILBOX_DIR"]
    try:
        controller = serve(directory, host, port)
    except OSError as error:
        raise click.ClickException(f"cannot listen on {host}:{port}: {error.strerror or error}") from None
    click.echo(f"Catching all mail on {host}:{port}; messages are stored in {directory}")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        controller.stop()


@mail_cli.command("targets")
def targets() -> None:
    """Delivery per authority: counts by state, paused targets, failing addresses and their fallbacks."""
    for row in watch.delivery_by_target():
        flags = " [paused]" if row.paused else ""
        counts = ", ".join(f"{state} {count}" for state, count in row.counts.items() if count)
        click.echo(f"#{row.target_id} {row.case_slug}: {row.name}{flags} ({counts or 'nothing queued'})")
        for address in row.addresses:
            state = "FAILING" if address.failing else "ok"
            fallback = f" -> fallback {address.fallback_email}" if address.fallback_email else ""
            click.echo(f"    {address.email}: {state}, {address.consecutive_bounces} bounces in a row{fallback}")


@mail_cli.command("fallback")
@click.argument("address")
@click.argument("fallback", required=False)
def fallback(address: str, fallback: str | None) -> None:
    """Send mail for a failing authority ADDRESS to FALLBACK (e.g. an embassy); without FALLBACK, use ADDRESS again."""
    try:
        row = cases.set_fallback_address(address, fallback)
    except (LookupError, ValueError) as error:
        raise click.ClickException(str(error)) from None
    db.session.commit()
    click.echo(f"{row.email}: mail now goes to {row.delivery_email}")


@mail_cli.command("pause")
@click.argument("target_id", type=int)
def pause(target_id: int) -> None:
    """Stop sending to an authority (its messages wait)."""
    _set_paused(target_id, True)


@mail_cli.command("resume")
@click.argument("target_id", type=int)
def resume(target_id: int) -> None:
    """Resume sending to a paused authority."""
    _set_paused(target_id, False)


def _set_paused(target_id: int, paused: bool) -> None:
    try:
        target = cases.set_target_paused(target_id, paused)
    except LookupError:
        raise click.ClickException(f"no target #{target_id} (see flask mail targets)") from None
    db.session.commit()
    click.echo(f"#{target.id} {target.name}: {'paused' if paused else 'sending'}")


@mail_cli.command("retry")
@click.option("--message", "message_id", type=int, help="One failed message.")
@click.option("--target", "target_id", type=int, help="Every failed message to one authority.")
def retry(message_id: int | None, target_id: int | None) -> None:
    """Queue failed messages again (same Message-ID)."""
    if (message_id is None) == (target_id is None):
        raise click.ClickException("give either --message ID or --target ID")
    count = watch.retry_failed(message_id=message_id, target_id=target_id)
    db.session.commit()
    click.echo(f"{count} messages queued again")
