"""Configuration classes, fed from environment variables.

`create_app()` picks the class named by `INKWELL_CONFIG` (development, production, test); the default is
development, which runs on an embedded SQLite database under `instance/`.
"""

import os
from datetime import timedelta
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent
INSTANCE_DIR = Path(os.environ.get("INKWELL_INSTANCE_DIR", BASE_DIR / "instance"))

DEV_SECRET_KEY = "dev-only-not-secret"  # noqa: S105 - refused by ProductionConfig.check()


def _env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return default if value in (None, "") else int(value)


def normalise_database_url(url: str) -> str:
    """Accept the `postgres://` and `postgresql://` forms hosting providers hand out; use psycopg 3."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


class ConfigError(RuntimeError):
    """The configuration cannot run safely."""


class Config:
    SECRET_KEY = os.environ.get("SECRET_KEY", DEV_SECRET_KEY)
    SQLALCHEMY_DATABASE_URI = normalise_database_url(
        os.environ.get("DATABASE_URL", f"sqlite:///{INSTANCE_DIR / 'inkwell.sqlite3'}")
    )
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}

    # Languages: English is the source language.
    LANGUAGES = ("en", "fr", "es", "ar")
    BABEL_DEFAULT_LOCALE = "en"
    BABEL_DEFAULT_TIMEZONE = "UTC"
    BABEL_TRANSLATION_DIRECTORIES = str(BASE_DIR / "translations")

    # The address links in emails point at (no trailing slash).
    PUBLIC_BASE_URL = os.environ.get("PUBLIC_BASE_URL", "http://127.0.0.1:5000").rstrip("/")
    SITE_NAME = os.environ.get("SITE_NAME", "Inkwell")

    # Forms and sessions.
    WTF_CSRF_TIME_LIMIT = _env_int("WTF_CSRF_TIME_LIMIT", 6 * 3600)
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = _env_bool("SESSION_COOKIE_SECURE", False)
    REMEMBER_COOKIE_HTTPONLY = True
    PERMANENT_SESSION_LIFETIME = timedelta(hours=_env_int("SESSION_HOURS", 12))
    MAX_CONTENT_LENGTH = _env_int("MAX_CONTENT_LENGTH", 2 * 1024 * 1024)
    # A form sent by a visitor (not signed-in staff): refused unread above this. A 6,000-character letter in a
    # four-byte script is 72 KB once percent-encoded; the other fields add a few hundred bytes.
    FORM_MAX_BYTES = _env_int("FORM_MAX_BYTES", 128 * 1024)

    # Behind a reverse proxy: how many proxies to trust for X-Forwarded-For (0: none).
    PROXY_COUNT = _env_int("PROXY_COUNT", 0)

    # Rate limits (Flask-Limiter): in memory for one process, Redis for several.
    RATELIMIT_STORAGE_URI = os.environ.get("RATELIMIT_STORAGE_URI", "memory://")
    RATELIMIT_ENABLED = _env_bool("RATELIMIT_ENABLED", True)
    RATELIMIT_HEADERS_ENABLED = True
    RATELIMIT_KEY_PREFIX = os.environ.get("RATELIMIT_KEY_PREFIX", "inkwell")

    # Outgoing mail (Flask-Mail's names).
    MAIL_SERVER = os.environ.get("MAIL_SERVER", "127.0.0.1")
    MAIL_PORT = _env_int("MAIL_PORT", 8025)
    MAIL_USE_TLS = _env_bool("MAIL_USE_TLS", False)
    MAIL_USE_SSL = _env_bool("MAIL_USE_SSL", False)
    MAIL_USERNAME = os.environ.get("MAIL_USERNAME")
    MAIL_PASSWORD = os.environ.get("MAIL_PASSWORD")
    MAIL_DEFAULT_SENDER = os.environ.get("MAIL_DEFAULT_SENDER", "appeals@inkwell.example.org")
    MAIL_TIMEOUT = _env_int("MAIL_TIMEOUT", 30)

    # The mail worker (`flask mail work`).
    MAIL_CONNECTIONS = _env_int("MAIL_CONNECTIONS", 8)  # parallel SMTP connections per worker
    MAIL_BATCH_SIZE = _env_int("MAIL_BATCH_SIZE", 100)  # messages leased at a time per connection
    MAIL_RECORD_EVERY = _env_int("MAIL_RECORD_EVERY", 20)  # fates written after this many messages
    MAIL_LEASE_SECONDS = _env_int("MAIL_LEASE_SECONDS", 300)  # a dead worker's messages are due again after this
    MAIL_IDLE_SECONDS = float(os.environ.get("MAIL_IDLE_SECONDS", "2"))
    MAIL_RETRY_BASE_SECONDS = _env_int("MAIL_RETRY_BASE_SECONDS", 60)
    MAIL_RETRY_MAX_SECONDS = _env_int("MAIL_RETRY_MAX_SECONDS", 3600)
    MAIL_MAX_ATTEMPTS = _env_int("MAIL_MAX_ATTEMPTS", 20)
    MAIL_BOUNCES_BEFORE_FAILING = _env_int("MAIL_BOUNCES_BEFORE_FAILING", 3)
    # Daily digests are split so that no email is larger than this (most relays refuse 10 to 25 MB and more).
    MAIL_MAX_MESSAGE_BYTES = _env_int("MAIL_MAX_MESSAGE_BYTES", 10 * 1024 * 1024)
    HOUSEKEEPING_SECONDS = _env_int("HOUSEKEEPING_SECONDS", 60)  # expiring appeals, building digests
    MAIL_DKIM_KEY_FILE = os.environ.get("MAIL_DKIM_KEY_FILE")
    MAIL_DKIM_SELECTOR = os.environ.get("MAIL_DKIM_SELECTOR", "inkwell")
    MAIL_DKIM_DOMAIN = os.environ.get("MAIL_DKIM_DOMAIN")
    # Where `make run`'s catch-all SMTP server stores what it receives.
    DEV_MAILBOX_DIR = os.environ.get("DEV_MAILBOX_DIR", str(INSTANCE_DIR / "mail"))

    # Appeals.
    APPEAL_CONFIRMATION = _env_bool("APPEAL_CONFIRMATION", True)  # off: appeals are queued without confirming
    APPEAL_CONFIRM_HOURS = _env_int("APPEAL_CONFIRM_HOURS", 48)  # unconfirmed appeals expire after this
    APPEAL_MAX_LETTER_CHARS = _env_int("APPEAL_MAX_LETTER_CHARS", 6000)
    CONFIRMATIONS_PER_ADDRESS_PER_HOUR = _env_int("CONFIRMATIONS_PER_ADDRESS_PER_HOUR", 3)
    HOPE_MAX_CHARS = _env_int("HOPE_MAX_CHARS", 1500)  # messages of hope: a gentle limit
    HOPE_LONG_CHARS = _env_int("HOPE_LONG_CHARS", 800)  # flagged for the moderator as much longer than usual
    IMPACT_EMAILS_PER_MINUTE = _env_int("IMPACT_EMAILS_PER_MINUTE", 600)  # news of a case, spread over time
    APPEAL_RATE_LIMIT = os.environ.get("APPEAL_RATE_LIMIT", "10/minute;60/hour")  # per client address
    DIGEST_HOUR_UTC = _env_int("DIGEST_HOUR_UTC", 6)  # daily digests are built after this hour

    # Forms filled faster than this (seconds) look automated and are held for moderation.
    FORM_MIN_FILL_SECONDS = float(os.environ.get("FORM_MIN_FILL_SECONDS", "3"))
    # Seconds a rendered appeal form is reused (per process, fresh tokens each time); 0 renders every request.
    FORM_PAGE_CACHE_SECONDS = _env_int("FORM_PAGE_CACHE_SECONDS", 5)
    # Keyed hash of supporters' addresses (duplicate detection); defaults to the secret key.
    EMAIL_DIGEST_KEY = os.environ.get("EMAIL_DIGEST_KEY")

    # Staff sign-in.
    PASSWORD_MIN_LENGTH = _env_int("PASSWORD_MIN_LENGTH", 12)
    # Wrong passwords slow sign-in down, never lock it. One account from one address: after LOGIN_FREE_FAILURES, it
    # waits 1 s, 2 s, 4 s... up to LOGIN_MAX_DELAY_SECONDS before each new try (a success starts afresh).
    LOGIN_FREE_FAILURES = _env_int("LOGIN_FREE_FAILURES", 3)
    LOGIN_MAX_DELAY_SECONDS = _env_int("LOGIN_MAX_DELAY_SECONDS", 900)
    # One account from all addresses together: after LOGIN_ACCOUNT_FREE_FAILURES, a second more each time, up to a
    # low cap; addresses it signed in from within LOGIN_KNOWN_ADDRESS_DAYS are spared, so nobody can keep staff out.
    LOGIN_ACCOUNT_FREE_FAILURES = _env_int("LOGIN_ACCOUNT_FREE_FAILURES", 10)
    LOGIN_ACCOUNT_MAX_DELAY_SECONDS = _env_int("LOGIN_ACCOUNT_MAX_DELAY_SECONDS", 30)
    LOGIN_KNOWN_ADDRESS_DAYS = _env_int("LOGIN_KNOWN_ADDRESS_DAYS", 30)
    LOGIN_FORGET_HOURS = _env_int("LOGIN_FORGET_HOURS", 24)  # failures followed by none for this long are forgotten
    LOGIN_RATE_LIMIT = os.environ.get("LOGIN_RATE_LIMIT", "10/minute;50/hour")  # per address and per account

    # Forwarding messages of hope: at most this many letters per bundle (one PDF, one email); the rest wait.
    BUNDLE_MAX_LETTERS = _env_int("BUNDLE_MAX_LETTERS", 300)
    # Bundles are rendered by the mail worker's housekeeping, one at a time: a message prints at most this many lines
    # (about an A4 page; blank runs collapse to one empty line); a render is leased for BUNDLE_RENDER_LEASE_SECONDS
    # and set aside as failed after BUNDLE_RENDER_MAX_ATTEMPTS renders that stopped their worker; housekeeping
    # starts no new render after BUNDLE_RENDER_SECONDS_PER_ROUND, so that mail keeps flowing.
    BUNDLE_MESSAGE_MAX_LINES = _env_int("BUNDLE_MESSAGE_MAX_LINES", 36)
    BUNDLE_RENDER_LEASE_SECONDS = _env_int("BUNDLE_RENDER_LEASE_SECONDS", 900)
    BUNDLE_RENDER_MAX_ATTEMPTS = _env_int("BUNDLE_RENDER_MAX_ATTEMPTS", 3)
    BUNDLE_RENDER_SECONDS_PER_ROUND = _env_int("BUNDLE_RENDER_SECONDS_PER_ROUND", 60)

    # Privacy: supporters' names, addresses and letters are erased this many days after delivery.
    PRIVACY_RETENTION_DAYS = _env_int("PRIVACY_RETENTION_DAYS", 90)

    # Front page: how many active cases it shows.
    HOME_CASE_COUNT = 6


class DevelopmentConfig(Config):
    DEBUG = False  # the dev server still never shows tracebacks to visitors


class TestConfig(Config):
    TESTING = True
    SECRET_KEY = "test-secret-key-not-for-production"  # noqa: S105
    SQLALCHEMY_DATABASE_URI = "sqlite://"
    WTF_CSRF_ENABLED = False
    RATELIMIT_ENABLED = False
    PUBLIC_BASE_URL = "http://localhost"
    MAIL_SERVER = "127.0.0.1"
    MAIL_PORT = 1  # tests that send mail point this at their own SMTP server
    FORM_MIN_FILL_SECONDS = 0
    FORM_PAGE_CACHE_SECONDS = 0  # tests edit cases and expect to see it at once (test_form_page_cache turns it on)
    MAIL_IDLE_SECONDS = 0.05
    MAIL_RETRY_BASE_SECONDS = 60


class ProductionConfig(Config):
    SESSION_COOKIE_SECURE = True
    REMEMBER_COOKIE_SECURE = True
    PREFERRED_URL_SCHEME = "https"

    @classmethod
    def check(cls, config: dict) -> None:
        """Refuse to run with settings that would be unsafe in production."""
        secret = config.get("SECRET_KEY") or ""
        if secret in ("", DEV_SECRET_KEY, TestConfig.SECRET_KEY) or len(secret) < 32:
            raise ConfigError(
                "SECRET_KEY must be set to a random value of at least 32 characters in production "
                '(python -c "import secrets; print(secrets.token_urlsafe(48))")'
            )
        if "DATABASE_URL" not in os.environ and config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
            raise ConfigError("DATABASE_URL must point at the production database (PostgreSQL)")


CONFIGS = {
    "development": DevelopmentConfig,
    "production": ProductionConfig,
    "test": TestConfig,
}


def config_from_env() -> type[Config]:
    name = os.environ.get("INKWELL_CONFIG", "development")
    try:
        return CONFIGS[name]
    except KeyError:
        raise ConfigError(f"INKWELL_CONFIG must be one of {', '.join(CONFIGS)}, not {name!r}") from None
