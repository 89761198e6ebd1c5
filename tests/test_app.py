"""The factory, the configurations, the error pages and the language plumbing."""

from __future__ import annotations

import pytest

from app import create_app
from config import ConfigError, ProductionConfig, TestConfig, normalise_database_url


def test_test_config_is_applied(app):
    assert app.testing
    assert app.config["SECRET_KEY"] == TestConfig.SECRET_KEY


@pytest.mark.parametrize("secret", ["", "dev-only-not-secret", "short-secret"])
def test_production_refuses_a_missing_default_or_weak_secret(monkeypatch, secret):
    monkeypatch.setenv("DATABASE_URL", "postgresql://inkwell@db.example.org/inkwell")
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        create_app(ProductionConfig, {"SECRET_KEY": secret})


def test_production_refuses_the_embedded_database(monkeypatch):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    with pytest.raises(ConfigError, match="DATABASE_URL"):
        create_app(ProductionConfig, {"SECRET_KEY": "x" * 48})


def test_production_starts_with_a_strong_secret(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgresql://inkwell@db.example.org/inkwell")
    app = create_app(ProductionConfig, {"SECRET_KEY": "s" * 48})
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert not app.debug


def test_config_is_chosen_from_the_environment(monkeypatch):
    from config import DevelopmentConfig, config_from_env

    monkeypatch.setenv("INKWELL_CONFIG", "development")
    assert config_from_env() is DevelopmentConfig
    monkeypatch.setenv("INKWELL_CONFIG", "staging")
    with pytest.raises(ConfigError, match="INKWELL_CONFIG"):
        config_from_env()


def test_hosting_style_database_urls_use_psycopg():
    assert normalise_database_url("postgres://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalise_database_url("postgresql://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalise_database_url("sqlite:///x.db") == "sqlite:///x.db"


def test_root_redirects_by_accept_language(client):
    response = client.get("/", headers={"Accept-Language": "es-ES,es;q=0.9,en;q=0.5"})
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/es/")
    assert "Accept-Language" in response.headers["Vary"]


def test_root_falls_back_to_english_for_unsupported_languages(client):
    response = client.get("/", headers={"Accept-Language": "de-DE,de;q=0.9"})
    assert response.headers["Location"].endswith("/en/")


def test_the_language_choice_is_remembered(client):
    client.get("/fr/")
    response = client.get("/", headers={"Accept-Language": "en"})
    assert response.headers["Location"].endswith("/fr/")


def test_unsupported_locale_prefix_is_not_found(client):
    assert client.get("/de/").status_code == 404


def test_pages_carry_language_and_direction(client):
    english = client.get("/en/").get_data(as_text=True)
    arabic = client.get("/ar/").get_data(as_text=True)
    assert '<html lang="en" dir="ltr">' in english
    assert '<html lang="ar" dir="rtl">' in arabic


def test_language_switcher_keeps_the_page(client, app):
    from tests.factories import make_case

    make_case(slug="ana")
    from app.extensions import db

    db.session.commit()
    page = client.get("/en/cases/ana/").get_data(as_text=True)
    assert 'href="/fr/cases/ana/"' in page
    assert 'href="/ar/cases/ana/"' in page


def test_not_found_page_has_no_traceback(client):
    response = client.get("/en/no-such-page")
    assert response.status_code == 404
    body = response.get_data(as_text=True)
    assert "Page not found" in body
    assert "Traceback" not in body


def test_unexpected_errors_show_a_plain_500(app, client):
    @app.get("/boom")
    def boom():
        raise RuntimeError("secret internals")

    app.testing = False  # as in production: the handler, not the test runner, answers
    app.config["PROPAGATE_EXCEPTIONS"] = False
    response = client.get("/boom")
    body = response.get_data(as_text=True)
    assert response.status_code == 500
    assert "secret internals" not in body and "Traceback" not in body
    assert "Something went wrong" in body


def test_database_outage_is_a_503(app, client):
    from sqlalchemy.exc import OperationalError

    @app.get("/db-down")
    def db_down():
        raise OperationalError("SELECT 1", {}, Exception("connection refused"))

    app.config["PROPAGATE_EXCEPTIONS"] = False
    response = client.get("/db-down")
    assert response.status_code == 503
    assert "connection refused" not in response.get_data(as_text=True)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("X-Content-Type-Options", "nosniff"),
        ("X-Frame-Options", "DENY"),
        ("Referrer-Policy", "same-origin"),
    ],
)
def test_security_headers(client, header, expected):
    assert client.get("/en/").headers[header] == expected


def test_content_security_policy_is_strict(client):
    policy = client.get("/en/").headers["Content-Security-Policy"]
    assert "unsafe-inline" not in policy
    assert "frame-ancestors 'none'" in policy
    assert "default-src 'self'" in policy


def test_pages_have_no_inline_scripts_or_styles(client, demo):
    for path in ("/en/", "/en/cases/", "/en/success-stories/", "/en/cases/nassima-al-sada/"):
        body = client.get(path).get_data(as_text=True)
        assert "<script" not in body, path
        assert "style=" not in body and "<style" not in body, path


def test_health_endpoint(client):
    assert client.get("/healthz").get_json() == {"status": "ok"}
