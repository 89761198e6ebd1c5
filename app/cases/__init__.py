"""The public campaign site: home page, case list, case pages, success stories; case content and targets."""


def init_app(app) -> None:
    from app.cases.routes import bp, root_bp

    app.register_blueprint(root_bp)
    app.register_blueprint(bp)
