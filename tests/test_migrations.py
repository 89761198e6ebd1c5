"""Migrations build the schema from empty on both databases and match the models."""

from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from app.extensions import db


def test_migrated_schema_matches_the_models(app):
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        differences = compare_metadata(context, db.metadata)
    assert differences == []


def test_migrations_reach_head(app):
    from alembic.script import ScriptDirectory
    from flask_migrate import Config

    from tests.conftest import MIGRATIONS

    config = Config()
    config.set_main_option("script_location", MIGRATIONS)
    heads = ScriptDirectory.from_config(config).get_heads()
    assert len(heads) == 1
    with db.engine.connect() as conn:
        current = conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar_one()
    assert current == heads[0]


def test_downgrade_to_empty_and_back(database_url):
    """Every migration can be undone and replayed, on a database of its own."""
    from flask_migrate import downgrade, upgrade

    from app import create_app
    from config import TestConfig
    from tests.conftest import MIGRATIONS

    app = create_app(TestConfig, {"SQLALCHEMY_DATABASE_URI": database_url})
    with app.app_context():
        try:
            downgrade(directory=MIGRATIONS, revision="base")
            assert "cases" not in sa.inspect(db.engine).get_table_names()
        finally:
            upgrade(directory=MIGRATIONS)
        assert "cases" in sa.inspect(db.engine).get_table_names()
        db.engine.dispose()


def test_postgresql_is_durable(app):
    """Acknowledged letters must survive a crash: no unlogged tables, no asynchronous commits."""
    if db.engine.dialect.name != "postgresql":
        assert db.session.execute(sa.text("PRAGMA synchronous")).scalar() == 2  # FULL
        return
    assert db.session.execute(sa.text("SHOW synchronous_commit")).scalar() in ("on", "remote_apply", "remote_write")
    unlogged = db.session.execute(
        sa.text("SELECT relname FROM pg_class WHERE relpersistence = 'u' AND relkind = 'r'")
    ).all()
    assert unlogged == []
