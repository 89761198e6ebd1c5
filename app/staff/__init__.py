"""The foundation every staff feature stands on: accounts, roles, signing in, the audit trail of admins' changes.

Moderation, paper reports, exports, privacy, the dashboard and the admin pages import it; it imports none of them.
"""


def init_app(app) -> None:
    from app.staff import auth
    from app.staff.cli import users_cli

    auth.init_app(app)
    app.cli.add_command(users_cli)
