"""Inkwell: the application factory."""

from __future__ import annotations

from pathlib import Path

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from config import INSTANCE_DIR, Config, config_from_env


def create_app(config_class: type[Config] | None = None, overrides: dict | None = None) -> Flask:
    """Build the app: configuration, extensions, languages, blueprints, error pages, commands."""
    app = Flask(__name__, instance_path=str(INSTANCE_DIR), instance_relative_config=False)
    _load_config(app, config_class or config_from_env(), overrides or {})
    _redact_logs(app)
    _trust_proxies(app)
    _init_extensions(app)
    _register_blueprints(app)
    _register_request_checks(app)
    _register_error_pages(app)
    _register_security_headers(app)
    _register_commands(app)
    return app


def _load_config(app: Flask, config_class: type[Config], overrides: dict) -> None:
    app.config.from_object(config_class)
    app.config.update(overrides)
    check = getattr(config_class, "check", None)
    if check is not None:
        check(app.config)


def _redact_logs(app: Flask) -> None:
    from app import logs

    logs.init_app(app)


def _trust_proxies(app: Flask) -> None:
    # Only the configured number of proxies may set X-Forwarded-For; otherwise any visitor could forge it.
    proxies = app.config["PROXY_COUNT"]
    if proxies:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies)


def _init_extensions(app: Flask) -> None:
    from app import i18n, models  # noqa: F401 - registers every model with the metadata
    from app.extensions import csrf, db, limiter, mail, migrate

    db.init_app(app)
    migrate.init_app(app, db, directory=str(Path(app.root_path).parent / "migrations"))
    csrf.init_app(app)
    mail.init_app(app)
    limiter.init_app(app)
    i18n.init_app(app)


def _register_blueprints(app: Flask) -> None:
    """Every feature, foundations first; each registers its blueprints, commands and hooks in its `init_app`."""
    from app import admin, appeals, cases, dashboard, exports, moderation, offline, privacy, solidarity, staff

    for feature in (staff, cases, appeals, solidarity, moderation, offline, privacy, dashboard, exports, admin):
        feature.init_app(app)


def _register_request_checks(app: Flask) -> None:
    from app.forms import share_wtforms_translations
    from app.request_checks import InkwellRequest, refuse_unreadable_addresses

    # Form bodies bounded and parsed once, when a view reads them: after its rate limit, never for a 404.
    app.request_class = InkwellRequest
    # First of all hooks (before the extensions' own, such as the CSRF check, which reads the form).
    app.before_request_funcs.setdefault(None, []).insert(0, refuse_unreadable_addresses)
    app.before_request(share_wtforms_translations)


def _register_error_pages(app: Flask) -> None:
    from app import errors

    errors.init_app(app)


def _register_security_headers(app: Flask) -> None:
    from app import security

    security.init_app(app)


def _register_commands(app: Flask) -> None:
    from app.cases.cli import seed_cli
    from app.exports.cli import export_cli
    from app.mail.cli import mail_cli
    from app.privacy.cli import privacy_cli

    app.cli.add_command(seed_cli)
    app.cli.add_command(mail_cli)
    app.cli.add_command(export_cli)
    app.cli.add_command(privacy_cli)
