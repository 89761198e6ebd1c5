"""Validators shared by the public forms; every message is translated."""

from __future__ import annotations

import secrets
import time
from functools import lru_cache

from babel import support
from flask import current_app, request, session
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from itsdangerous import BadSignature, URLSafeSerializer
from markupsafe import Markup, escape
from wtforms.i18n import messages_path
from wtforms.validators import ValidationError
from wtforms.widgets import html_params

from app import text
from app.addresses import AddressError, accepted_address
from app.i18n import country_options_html, current_locale
from app.request_checks import undecodable_fields


class PublicForm(FlaskForm):
    """A form whose CSRF failure is an ordinary, translated form error: what the visitor wrote is kept.

    Blueprints made only of such forms are exempted from the global CSRF check (which would answer a bare 400 and
    lose a letter that took twenty minutes to write); the form still refuses to act without a valid token.
    """

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        if self.meta.csrf and self.csrf_token.errors:
            self.csrf_token.errors = [
                _l("Your session expired while you were writing. Nothing is lost: please check and send again.")
            ]
        return valid


@lru_cache(maxsize=16)
def _wtforms_translations(locale: str) -> support.Translations:
    return support.Translations.load(messages_path(), [locale], domain="wtforms")


def share_wtforms_translations() -> None:
    """Before each request: WTForms' own messages in the request's language, loaded once per process.

    Flask-WTF would otherwise read WTForms' catalogue from disk in every request that builds a form (it looks for
    `request.wtforms_translations` first). Registered with `before_request` in the factory, after the URL has set
    the language.
    """
    request.wtforms_translations = _wtforms_translations(current_locale())


class CleanText:
    """Refuses what a person cannot mean to type: undecodable bytes, control characters, direction overrides."""

    def __init__(self, multiline: bool = False, allow_bidi: bool = False):
        self.multiline = multiline
        self.allow_bidi = allow_bidi

    def __call__(self, form, field) -> None:
        value = field.data or ""
        if text.has_undecodable_bytes(value) or field.name in undecodable_fields():
            raise ValidationError(_l("This field contains characters that could not be read. Please retype it."))
        if text.has_control_chars(value, allow_line_breaks=self.multiline):
            if self.multiline:
                raise ValidationError(_l("This field contains invisible control characters. Please remove them."))
            raise ValidationError(_l("This field must fit on one line."))
        if not self.allow_bidi and text.has_bidi_controls(value):
            raise ValidationError(_l("This field contains invisible direction characters. Please remove them."))


class EmailAddress:
    """An address Inkwell can deliver to (the rules are in app.addresses); the field keeps its normalised form."""

    def __init__(self, message=None):
        self.message = message

    def __call__(self, form, field) -> None:
        if not field.data:
            return
        try:
            field.data = accepted_address(field.data)
        except AddressError as error:
            if error.code == "non_ascii_mailbox":
                raise ValidationError(
                    _l(
                        "Please use an address with only unaccented letters (a to z), digits and punctuation before "
                        "the @: many mail servers cannot deliver to any other."
                    )
                ) from None
            raise ValidationError(self.message or _l("Please enter a valid email address.")) from None


class NotBlank:
    """Required, and more than spaces or invisible characters."""

    field_flags = {"required": True}

    def __call__(self, form, field) -> None:
        if text.is_blank(field.data or ""):
            raise ValidationError(_l("Please fill in this field."))


def strip_filter(value):
    return text.normalise_text(value) if isinstance(value, str) else value


class BotTrap:
    """A honeypot field and a signed start time: submissions that look automated go to moderation, silently.

    The start token is single-use and bound to the visitor's session: it carries a nonce that the session lists
    when the form is served and forgets when the form is accepted, so a token cannot be replayed, nor taken to
    another session (the list keeps the last few, for a visitor with several tabs open).
    """

    SALT = "form-started"
    SESSION_KEY = "form_starts"
    OPEN_FORMS = 8

    @staticmethod
    def _serializer() -> URLSafeSerializer:
        return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=BotTrap.SALT)

    @staticmethod
    def start_token() -> str:
        nonce = secrets.token_urlsafe(9)
        session[BotTrap.SESSION_KEY] = [*session.get(BotTrap.SESSION_KEY, [])[-(BotTrap.OPEN_FORMS - 1) :], nonce]
        return BotTrap._serializer().dumps([time.time(), nonce])

    @staticmethod
    def looks_automated(honeypot: str | None, start_token: str | None) -> bool:
        """Whether a submission looks automated; consumes its start token (call once, after validation)."""
        if honeypot:
            return True
        minimum = current_app.config["FORM_MIN_FILL_SECONDS"]
        if minimum <= 0:
            return False
        try:
            started, nonce = BotTrap._serializer().loads(start_token or "")
            started = float(started)
        except (BadSignature, TypeError, ValueError):
            return True
        open_forms = session.get(BotTrap.SESSION_KEY, [])
        if nonce not in open_forms:
            return True  # used already, or served to another session
        session[BotTrap.SESSION_KEY] = [n for n in open_forms if n != nonce]
        return time.time() - started < minimum


class CountrySelect:
    """A `<select>` of every country in the page's language, from markup cached per language."""

    def __init__(self, prompt):
        self.prompt = prompt

    def __call__(self, field, **kwargs) -> Markup:
        kwargs.setdefault("id", field.id)
        options = country_options_html(current_locale())
        if field.data:
            chosen = f'<option value="{escape(field.data)}">'
            options = options.replace(chosen, chosen[:-1] + " selected>", 1)
        prompt = Markup('<option value="">{}</option>').format(self.prompt)
        # Safe: html_params escapes the attributes, the options were escaped when cached, the prompt is Markup.
        return Markup(f"<select {html_params(name=field.name, **kwargs)}>{prompt}{options}</select>")  # noqa: S704
