"""The "message of hope" form."""

from __future__ import annotations

from flask import current_app
from flask_babel import format_decimal, gettext
from flask_babel import lazy_gettext as _l
from wtforms import HiddenField, SelectField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length, ValidationError

from app.forms import CleanText, CountrySelect, NotBlank, PublicForm, strip_filter
from app.i18n import is_country_code


class HopeForm(PublicForm):
    first_name = StringField(
        _l("Your first name"),
        description=_l("Optional. Leave it empty to sign as “a friend”. Never write your surname or address."),
        filters=[strip_filter],
        validators=[Length(max=60), CleanText()],
    )
    country = StringField(
        _l("Your country"),
        widget=CountrySelect(_l("Choose…")),
        validators=[InputRequired(message=_l("Please choose your country."))],
    )
    language = SelectField(_l("Language of your message"), validators=[InputRequired()])
    message = TextAreaField(
        _l("Your message"),
        description=_l("A few warm words are enough. Our team reads every message before passing it on."),
        filters=[strip_filter],
        validators=[NotBlank(), CleanText(multiline=True, allow_bidi=True)],
    )
    website = StringField(_l("Leave this field empty"))
    started = HiddenField()

    def validate_country(self, field) -> None:
        if not is_country_code(field.data) or field.data != field.data.upper():
            raise ValidationError(_l("Please choose your country."))

    def validate_message(self, field) -> None:
        limit = current_app.config["HOPE_MAX_CHARS"]
        if len(field.data or "") > limit:
            raise ValidationError(
                gettext(
                    "Your message is %(length)s characters long; please keep it to %(limit)s.",
                    length=format_decimal(len(field.data)),
                    limit=format_decimal(limit),
                )
            )
