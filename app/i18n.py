"""Languages: the supported locales, the one locale selector, right-to-left scripts, localised formats.

Every public URL starts with its locale (`/fr/cases/...`). The locale is chosen, in this order, from:
the URL prefix, the visitor's remembered choice (the `lang` cookie), the browser's `Accept-Language`,
and the default (English). Every candidate is checked against the supported list.
"""

from __future__ import annotations

import unicodedata
from datetime import date
from functools import lru_cache

from babel import Locale
from flask import Blueprint, abort, current_app, g, request, url_for
from flask_babel import format_date, format_decimal, get_locale
from markupsafe import Markup, escape

from app.extensions import babel

LANGUAGE_COOKIE = "lang"
RTL_LANGUAGES = frozenset({"ar", "fa", "he", "ur", "ps", "yi", "dv", "ckb", "sd", "ug"})

# Territory codes from CLDR that are not countries a person lives in.
_NOT_COUNTRIES = frozenset({"EU", "EZ", "UN", "QO", "ZZ", "XA", "XB"})


def supported_locales() -> tuple[str, ...]:
    return tuple(current_app.config["LANGUAGES"])


def select_locale() -> str:
    """The locale selector registered with Flask-Babel."""
    supported = supported_locales()
    url_locale = g.get("lang_code")
    if url_locale in supported:
        return url_locale
    return preferred_locale()


def preferred_locale() -> str:
    """The visitor's language when the URL does not say: remembered choice, then the browser, then English."""
    supported = supported_locales()
    remembered = request.cookies.get(LANGUAGE_COOKIE)
    if remembered in supported:
        return remembered
    return request.accept_languages.best_match(supported) or current_app.config["BABEL_DEFAULT_LOCALE"]


def current_locale() -> str:
    return str(get_locale() or current_app.config["BABEL_DEFAULT_LOCALE"])


def is_rtl(locale: str | None = None) -> bool:
    code = (locale or current_locale()).split("_")[0].split("-")[0]
    return code in RTL_LANGUAGES


def text_direction(locale: str | None = None) -> str:
    return "rtl" if is_rtl(locale) else "ltr"


@lru_cache(maxsize=32)
def _country_names(locale: str) -> dict[str, str]:
    territories = Locale.parse(locale).territories
    return {
        code: name
        for code, name in territories.items()
        if len(code) == 2 and code.isalpha() and code not in _NOT_COUNTRIES
    }


def country_name(code: str | None, locale: str | None = None) -> str:
    if not code:
        return ""
    return _country_names(locale or current_locale()).get(code.upper(), code)


def country_choices(locale: str | None = None) -> list[tuple[str, str]]:
    """(code, localised name) pairs sorted by name, for select fields."""
    return list(_sorted_countries(locale or current_locale()))


@lru_cache(maxsize=32)
def _sorted_countries(locale: str) -> tuple[tuple[str, str], ...]:
    return tuple(sorted(_country_names(locale).items(), key=lambda item: _collation_key(item[1])))


@lru_cache(maxsize=32)
def country_options_html(locale: str) -> str:
    """Every country as `<option>` markup, built once per language (250 options cost milliseconds each time)."""

    return "".join(f'<option value="{code}">{escape(name)}</option>' for code, name in _sorted_countries(locale))


def is_country_code(code: str | None) -> bool:
    return bool(code) and code.upper() in _country_names("en")


def language_name(code: str, locale: str | None = None) -> str:
    """The name of a language in the page's language, e.g. 'arabe' for `ar` on a French page."""
    try:
        return Locale.parse(locale or current_locale()).languages.get(code, code)
    except (ValueError, TypeError):
        return code


def native_language_name(code: str) -> str:
    """The name of a language in that language itself, for the language switcher."""
    try:
        return Locale.parse(code).get_display_name(code) or code
    except (ValueError, TypeError):
        return code


def _collation_key(name: str) -> str:

    decomposed = unicodedata.normalize("NFKD", name)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()


def format_count(value: int | None) -> str:
    return format_decimal(value or 0)


def format_timeline_date(value: date, precision: str = "day") -> str:
    """A timeline date as precise as we know it: '10 March 2015', 'March 2020' or '2018'."""
    if precision == "year":
        return format_date(value, "yyyy")
    if precision == "month":
        return format_date(value, "LLLL y")
    return format_date(value, "long")


def bidi_isolate(text: str) -> Markup:
    """Wrap text of unknown direction (a name, a country) so it cannot reorder the sentence around it."""

    return Markup("<bdi>{}</bdi>").format(escape(text))  # noqa: S704 - the text is escaped


def localized_blueprint(name: str, import_name: str, **kwargs) -> Blueprint:
    """A blueprint whose routes all live under `/<lang_code>/` and keep the visitor's language in links."""
    bp = Blueprint(name, import_name, url_prefix="/<lang_code>" + kwargs.pop("url_prefix", ""), **kwargs)

    @bp.url_value_preprocessor
    def pull_lang_code(endpoint, values):
        code = (values or {}).pop("lang_code", None)
        if code not in supported_locales():
            abort(404)
        g.lang_code = code

    @bp.url_defaults
    def add_lang_code(endpoint, values):
        if "lang_code" not in values:
            values["lang_code"] = g.get("lang_code") or current_locale()

    @bp.after_request
    def remember_language(response):
        code = g.get("lang_code")
        if code and request.cookies.get(LANGUAGE_COOKIE) != code:
            response.set_cookie(
                LANGUAGE_COOKIE,
                code,
                max_age=365 * 24 * 3600,
                samesite="Lax",
                httponly=True,
                secure=current_app.config.get("SESSION_COOKIE_SECURE", False),
            )
        return response

    return bp


def switch_locale_url(code: str) -> str:
    """The current page in another language, or that language's home page when the page has no locale."""
    endpoint = request.endpoint
    args = dict(request.view_args or {})
    if endpoint and request.url_rule and "lang_code" in request.url_rule.arguments:
        args["lang_code"] = code
        url = url_for(endpoint, **args)
        if request.query_string and request.method == "GET":
            url += "?" + request.query_string.decode("latin-1")
        return url
    return url_for("cases.home", lang_code=code)


def init_app(app) -> None:

    babel.init_app(app, locale_selector=select_locale)
    # `{% trans %}` blocks collapse their whitespace, as babel.cfg extracts them.
    app.jinja_env.policies["ext.i18n.trimmed"] = True
    app.jinja_env.filters.update(
        count=format_count,
        country=country_name,
        timeline_date=format_timeline_date,
        bdi=bidi_isolate,
        language_name=language_name,
    )

    @app.context_processor
    def i18n_context():
        locale = current_locale()
        return {
            "current_locale": locale,
            "text_direction": text_direction(locale),
            "supported_locales": supported_locales(),
            "native_language_name": native_language_name,
            "switch_locale_url": switch_locale_url,
        }
