"""Appeals to the authorities: the form, confirmation, delivery status."""


def init_app(app) -> None:
    from app.appeals import services
    from app.appeals.cli import appeals_cli
    from app.appeals.routes import bp
    from app.cases.services import register_removal_guard
    from app.extensions import csrf
    from app.privacy.services import register_eraser

    csrf.exempt(bp)  # every POST here validates a PublicForm, which checks the token and keeps the text
    app.register_blueprint(bp)
    # Periodic work the mail worker runs between rounds.
    app.extensions.setdefault("inkwell_housekeeping", []).extend(
        [
            services.expire_unconfirmed,
            services.build_due_digests,
            services.split_refused_digests,
            services.send_due_announcements,
        ]
    )
    register_eraser(app, services.erase_appeals)
    register_removal_guard(app, services.appeals_await_digest)
    app.cli.add_command(appeals_cli)
