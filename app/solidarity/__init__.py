"""Messages of hope to the people at risk: the public form and the wall of approved messages."""


def init_app(app) -> None:
    from app.extensions import csrf
    from app.solidarity.routes import bp

    csrf.exempt(bp)  # every POST here validates a PublicForm, which checks the token and keeps the text
    app.register_blueprint(bp)
