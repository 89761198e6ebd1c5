"""Staff sign-in, accounts and roles, the staff home and case management."""


def init_app(app) -> None:
    from app.admin import auth
    from app.admin.case_routes import bp as case_bp
    from app.admin.cli import users_cli
    from app.admin.routes import bp

    auth.init_app(app)
    app.register_blueprint(bp)
    app.register_blueprint(case_bp)
    app.cli.add_command(users_cli)
