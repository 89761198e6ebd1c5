"""Figures and opted-in supporters as CSV: streamed in constant memory, safe to open in a spreadsheet."""


def init_app(app) -> None:
    from app.exports.routes import bp

    app.register_blueprint(bp)
