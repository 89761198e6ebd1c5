"""Error pages: in the visitor's language, never a traceback."""

from __future__ import annotations

import logging

from flask import render_template, request
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import DataError, OperationalError
from werkzeug.exceptions import HTTPException, InternalServerError, ServiceUnavailable

from app.extensions import db

log = logging.getLogger(__name__)

ERROR_TEXTS = {
    400: (_l("Bad request"), _l("Something in that request was not right. Please go back and try again.")),
    403: (_l("Not allowed"), _l("You do not have permission to see this page.")),
    404: (_l("Page not found"), _l("We could not find that page. It may have moved, or the address may be wrong.")),
    405: (_l("Not allowed"), _l("That action is not possible on this page.")),
    413: (_l("Too large"), _l("What you sent is too large. Please shorten it and try again.")),
    429: (
        _l("Too many requests"),
        _l("You have sent too many requests in a short time. Please wait a little and try again."),
    ),
    500: (_l("Something went wrong"), _l("An error occurred on our side. It has been logged; please try again later.")),
    503: (
        _l("Temporarily unavailable"),
        _l("The site is busy or under maintenance. Nothing you sent was half-saved; please try again in a minute."),
    ),
}


def render_error(status: int, message=None):
    title, default_message = ERROR_TEXTS.get(status, ERROR_TEXTS[500])
    message = message or default_message
    try:
        body = render_template("errors/error.html", status=status, title=title, message=message)
    except Exception:  # the error page itself must never fail
        log.exception("error page %s could not be rendered", status)
        body = f"<!doctype html><title>{status}</title><h1>{status}</h1>"
    return body, status


def handle_http_error(error: HTTPException):
    if error.code is None or error.code < 400:
        return error
    # An error raised for the visitor may say more precisely what was wrong (app.request_checks).
    return render_error(error.code, getattr(error, "public_message", None))


def handle_unusable_value(error: Exception):
    """A value the database cannot take (a NUL in text on PostgreSQL, an integer beyond its columns): the request's
    fault, so a 400, but a check is missing somewhere, so it is logged with its traceback for the team."""
    db.session.rollback()
    log.error("value refused by the database on %s %s", request.method, request.path, exc_info=error)
    return render_error(400)


def handle_database_down(error: OperationalError):
    db.session.rollback()
    log.error("database unavailable during %s %s: %s", request.method, request.path, error.orig)
    return render_error(ServiceUnavailable.code)


def handle_unexpected(error: Exception):
    db.session.rollback()
    log.exception("unhandled error on %s %s", request.method, request.path)
    return render_error(InternalServerError.code)


def init_app(app) -> None:
    app.register_error_handler(HTTPException, handle_http_error)
    app.register_error_handler(OperationalError, handle_database_down)
    app.register_error_handler(DataError, handle_unusable_value)
    app.register_error_handler(OverflowError, handle_unusable_value)  # SQLite's "int too large to convert"
    app.register_error_handler(Exception, handle_unexpected)
