"""Letters written on paper at events: organisers' reports, staff review, the case's "offline" counter."""


def init_app(app) -> None:
    from app.extensions import csrf
    from app.offline import services
    from app.offline.routes import bp, staff_bp
    from app.privacy.services import register_eraser

    csrf.exempt(bp)  # every POST here validates a PublicForm, which checks the token and keeps what was typed
    app.register_blueprint(bp)
    app.register_blueprint(staff_bp)  # staff forms: the global CSRF check answers a bare 400
    register_eraser(app, services.erase_paper_reports)
