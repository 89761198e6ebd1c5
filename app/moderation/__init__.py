"""Moderating messages of hope: the queue, decisions, the audit trail."""

from app.moderation.routes import bp


def init_app(app) -> None:
    app.register_blueprint(bp)
