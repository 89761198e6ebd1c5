"""The appeal form."""

from __future__ import annotations

from flask import current_app
from flask_babel import format_decimal, gettext
from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, EmailField, HiddenField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, ValidationError

from app.forms import CleanText, CountrySelect, EmailAddress, NotBlank, PublicForm, strip_filter
from app.i18n import is_country_code


class AppealForm(PublicForm):
    name = StringField(
        _l("Your name"),
        description=_l("As you want the authority to read it."),
        filters=[strip_filter],
        validators=[NotBlank(), Length(max=100), CleanText()],
    )
    email = EmailField(
        _l("Your email address"),
        description=_l(
            "We send you a link to confirm your appeal. It is never shown to the authority unless you "
            "allow replies below."
        ),
        filters=[strip_filter],
        validators=[NotBlank(), Length(max=254), CleanText(), EmailAddress()],
    )
    country = StringField(
        _l("Your country"),
        widget=CountrySelect(_l("Choose…")),
        validators=[InputRequired(message=_l("Please choose your country."))],
    )
    letter_language = HiddenField()
    letter = TextAreaField(
        _l("Your letter"),
        description=_l("You may edit the letter. Polite, personal letters are read."),
        filters=[strip_filter],
        validators=[NotBlank(), CleanText(multiline=True, allow_bidi=True)],
    )
    consent_share = BooleanField(
        _l("I agree that my name and country are sent to the authorities with my letter."),
        validators=[DataRequired(message=_l("We can only send your letter with your name and country."))],
    )
    consent_reply = BooleanField(_l("The authorities may reply to me by email (they will see my address)."))
    consent_updates = BooleanField(_l("Tell me by email about this case's progress."))
    # A field people never see; automated scripts fill it in.
    website = StringField(_l("Leave this field empty"))
    started = HiddenField()

    def validate_country(self, field) -> None:
        if not is_country_code(field.data) or field.data != field.data.upper():
            raise ValidationError(_l("Please choose your country."))

    def validate_letter(self, field) -> None:
        limit = current_app.config["APPEAL_MAX_LETTER_CHARS"]
        length = len(field.data or "")
        if length > limit:
            raise ValidationError(
                gettext(
                    "Your letter is %(length)s characters long; please shorten it to %(limit)s at most.",
                    length=format_decimal(length),
                    limit=format_decimal(limit),
                )
            )

    def validate_email(self, field) -> None:
        # Addresses go into headers and envelopes: anything that could split them is refused outright.
        if any(c in (field.data or "") for c in ",;<>\"'\\"):
            raise ValidationError(_l("Please enter a single email address."))


class ConfirmAppealForm(PublicForm):
    """The button on the confirmation page (a POST, so that mail scanners following links confirm nothing)."""
