"""`flask users ...`: staff accounts."""

from __future__ import annotations

import os

import click
from flask.cli import AppGroup

from app.extensions import db
from app.staff import services
from app.staff.models import ROLES

users_cli = AppGroup("users", help="Manage staff accounts (moderators and admins).")


def _password() -> str:
    """From INKWELL_PASSWORD (for scripts), else asked twice without echo."""
    return os.environ.get("INKWELL_PASSWORD") or click.prompt("Password", hide_input=True, confirmation_prompt=True)


@users_cli.command("create")
@click.argument("email")
@click.option("--role", type=click.Choice(ROLES), default="moderator", show_default=True)
def create(email: str, role: str) -> None:
    """Create an account (password prompted, or read from INKWELL_PASSWORD)."""
    try:
        user = services.create_user(email, _password(), role)
    except services.AccountError as error:
        raise click.ClickException(str(error)) from None
    db.session.commit()
    click.echo(f"{user.email} created ({user.role})")


@users_cli.command("list")
def list_users() -> None:
    """Every account with its role and state, and how many wrong passwords it was given lately."""
    for user in services.list_users():
        state = "active" if user.active else "deactivated"
        failures = services.recent_failures(user.email)
        hammered = f"\t{failures} wrong passwords lately" if failures else ""
        click.echo(f"{user.email}\t{user.role}\t{state}{hammered}")


@users_cli.command("set-password")
@click.argument("email")
def set_password(email: str) -> None:
    """Change a password (ends that account's open sessions)."""
    try:
        services.set_password(email, _password())
    except services.AccountError as error:
        raise click.ClickException(str(error)) from None
    db.session.commit()
    click.echo("password changed; open sessions are ended")


@users_cli.command("deactivate")
@click.argument("email")
def deactivate(email: str) -> None:
    """Stop an account from signing in (ends its open sessions)."""
    try:
        services.deactivate(email)
    except services.AccountError as error:
        raise click.ClickException(str(error)) from None
    db.session.commit()
    click.echo(f"{email} deactivated")
