"""`flask privacy ...`: the retention policy (cron-safe) and erasure on request."""

from __future__ import annotations

import getpass

import click
from flask.cli import AppGroup

from app.extensions import db
from app.privacy import services

privacy_cli = AppGroup("privacy", help="Erase supporters' personal data.")


@privacy_cli.command("purge")
def purge() -> None:
    """Erase personal data older than PRIVACY_RETENTION_DAYS (safe to run from cron: it does only what is due)."""
    erased = services.purge_expired_personal_data(performed_by=f"flask privacy purge ({getpass.getuser()})")
    db.session.commit()
    click.echo(f"{erased} items erased")


@privacy_cli.command("erase")
@click.argument("email")
def erase(email: str) -> None:
    """Erase everything about one supporter's email address now, and record that it was done."""
    if "@" not in email or any(c.isspace() for c in email):
        raise click.ClickException("give the supporter's email address, e.g. flask privacy erase jane@example.net")
    record = services.erase_supporter(email, performed_by=f"flask privacy erase ({getpass.getuser()})")
    db.session.commit()
    click.echo(f"{record.items_erased} items erased; erasure recorded as #{record.id}")
