"""The staff home, the changes page and case management: the top of the staff area (app.staff is its foundation)."""


def init_app(app) -> None:
    from app.admin.case_routes import bp as case_bp
    from app.admin.routes import bp

    app.register_blueprint(bp)
    app.register_blueprint(case_bp)
