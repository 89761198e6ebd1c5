"""The campaign's figures for its staff, and the watch over delivery."""


def init_app(app) -> None:
    from app.dashboard.routes import bp

    app.register_blueprint(bp)
