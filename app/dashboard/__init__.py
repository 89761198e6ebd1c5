"""The campaign's figures for its staff, and the watch over delivery."""

from app.dashboard.routes import bp


def init_app(app) -> None:
    app.register_blueprint(bp)
