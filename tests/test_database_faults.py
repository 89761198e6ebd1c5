"""The database failing under a submission: a clear 503, nothing half-written; a crash loses no acknowledged letter."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from flask_migrate import upgrade

from app import create_app
from app.appeals.models import Appeal
from app.extensions import db
from app.mail.models import OutboundMessage
from config import TestConfig
from tests.conftest import MIGRATIONS, IsolatedClient
from tests.factories import make_case
from tests.private_postgres import private_postgres  # noqa: F401 - fixture
from tests.test_appeals import form_data


@pytest.fixture
def crashable_app(private_postgres):  # noqa: F811
    app = create_app(TestConfig, {"SQLALCHEMY_DATABASE_URI": private_postgres.url, "PROPAGATE_EXCEPTIONS": False})
    app.test_client_class = IsolatedClient
    with app.app_context():
        upgrade(directory=MIGRATIONS)
        make_case(slug="ana")
        db.session.commit()
        yield app, private_postgres
        db.session.remove()
        db.engine.dispose()


def counts():
    db.session.rollback()
    return (
        db.session.scalar(sa.select(sa.func.count()).select_from(Appeal)),
        db.session.scalar(sa.select(sa.func.count()).select_from(OutboundMessage)),
    )


def test_database_down_during_a_submission_is_a_503_and_nothing_half_written(crashable_app):
    app, server = crashable_app
    client = app.test_client()
    assert client.post("/en/cases/ana/appeal/", data=form_data(email="first@example.net")).status_code == 302
    db.session.remove()
    db.engine.dispose()
    server.crash()
    response = client.post("/en/cases/ana/appeal/", data=form_data(email="second@example.net"))
    assert response.status_code == 503
    body = response.get_data(as_text=True)
    assert "Temporarily unavailable" in body and "Traceback" not in body and "psycopg" not in body
    server.start()
    assert counts() == (1, 1)  # the first appeal and its confirmation email; nothing of the second
    assert client.post("/en/cases/ana/appeal/", data=form_data(email="second@example.net")).status_code == 302
    assert counts() == (2, 2)


def test_every_acknowledged_letter_survives_a_crash(crashable_app):
    app, server = crashable_app
    client = app.test_client()
    acknowledged = 0
    for n in range(25):
        if client.post("/en/cases/ana/appeal/", data=form_data(email=f"s{n}@example.net")).status_code == 302:
            acknowledged += 1
    assert acknowledged == 25
    db.session.remove()
    db.engine.dispose()
    server.crash()  # -m immediate: no checkpoint, as in a power cut
    server.start()  # recovery replays the write-ahead log
    assert counts() == (25, 25)
