"""`flask appeals ...`: tell a case's supporters what happened."""

from __future__ import annotations

import click
from flask.cli import AppGroup
from sqlalchemy import select

from app.appeals import services
from app.cases.models import Case, CaseUpdate
from app.extensions import db

appeals_cli = AppGroup("appeals", help="Appeals and their supporters.")


@appeals_cli.command("notify")
@click.argument("slug")
@click.option("--update", "update_id", type=int, help="The timeline entry to announce (default: the latest).")
def notify(slug: str, update_id: int | None) -> None:
    """Email the supporters of a case who asked for news about its latest timeline entry (once per supporter)."""
    case = db.session.scalar(select(Case).where(Case.slug == slug))
    if case is None:
        raise click.ClickException(f"no case {slug!r}")
    query = select(CaseUpdate).where(CaseUpdate.case_id == case.id)
    query = query.where(CaseUpdate.id == update_id) if update_id else query.order_by(CaseUpdate.happened_on.desc())
    update = db.session.scalars(query.limit(1)).first()
    if update is None:
        raise click.ClickException(f"case {slug!r} has no such timeline entry")
    queued = services.notify_supporters(case, update)
    db.session.commit()
    click.echo(f"{queued} emails queued")
