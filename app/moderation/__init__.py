"""Moderating messages of hope: the queue, decisions, the audit trail, bundles."""


def init_app(app) -> None:
    from app.moderation import services
    from app.moderation.routes import bp

    app.register_blueprint(bp)
    # Bundles' PDFs take seconds to render: the mail worker renders them between rounds, never a request.
    app.extensions.setdefault("inkwell_housekeeping", []).append(services.render_due_bundles)
