"""Figures and opted-in supporters as CSV: streamed in constant memory, safe to open in a spreadsheet."""

from app.exports.routes import bp


def init_app(app) -> None:
    app.register_blueprint(bp)
