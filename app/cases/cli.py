"""`flask seed ...`: load demo content."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from app.cases import demo
from app.extensions import db

seed_cli = AppGroup("seed", help="Load demo content.")


@seed_cli.command("demo")
@click.option("--if-empty", is_flag=True, help="Only seed when the database has no case yet.")
def seed_demo(if_empty: bool) -> None:
    """Load the demo campaign: four real success stories and fictional active cases (idempotent)."""
    from app.cases.demo_content import DEMO_CASES

    if if_empty and not demo.campaign_is_empty():
        click.echo("The database already has cases; demo not loaded.")
        return
    try:
        report = demo.load_demo_campaign(DEMO_CASES)
    except demo.DemoDataError as error:
        db.session.rollback()
        raise click.ClickException(str(error)) from None
    db.session.commit()
    click.echo(f"Demo campaign loaded: {report.created} cases created, {report.updated} refreshed.")
