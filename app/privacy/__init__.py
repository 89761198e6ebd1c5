"""Supporters' privacy: retention, erasure on request, the public privacy notice, the admins' privacy page."""


def init_app(app) -> None:
    from app.privacy.routes import bp

    app.register_blueprint(bp)
