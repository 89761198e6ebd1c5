"""`flask export ...`: the same CSV files as the admin pages, to a file or standard output."""

from __future__ import annotations

import sys

import click
from flask.cli import AppGroup

from app.exports import services

export_cli = AppGroup("export", help="Export figures and opted-in supporters as CSV.")


def _export(name: str, output: str | None) -> None:
    total = services.export_size(name)
    stream = sys.stdout
    try:
        if output:
            stream = open(output, "w", encoding="utf-8", newline="")  # noqa: SIM115 - closed below
        lines = services.export_lines(name)
        stream.write(next(lines))  # the header
        with click.progressbar(lines, length=total, label=f"Exporting {name}", file=sys.stderr) as bar:
            for line in bar:
                stream.write(line)
    except OSError as error:
        raise click.ClickException(f"cannot write {output}: {error.strerror}") from None
    finally:
        if stream is not sys.stdout:
            stream.close()
    if output:
        click.echo(f"{total} rows written to {output}", err=True)


@export_cli.command("appeals")
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True), help="File to write (default: stdout).")
def export_appeals(output: str | None) -> None:
    """Confirmed appeals per case, supporter country and day."""
    _export("appeals", output)


@export_cli.command("supporters")
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True), help="File to write (default: stdout).")
def export_supporters(output: str | None) -> None:
    """Supporters who opted in to hear about a case's progress."""
    _export("supporters", output)
