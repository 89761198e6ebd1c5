"""Forms for editing cases (admins)."""

from __future__ import annotations

from babel import Locale, UnknownLocaleError
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, EmailField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, NumberRange, Optional, Regexp, ValidationError

from app.addresses import AddressError, accepted_address
from app.forms import CleanText, CountrySelect, EmailAddress, strip_filter
from app.i18n import is_country_code, language_name


def _language_code(form, field) -> None:
    try:
        Locale.parse(field.data)
    except (UnknownLocaleError, ValueError):
        raise ValidationError(_l("Not a language code we know.")) from None


def _country(form, field) -> None:
    if not is_country_code(field.data) or field.data != field.data.upper():
        raise ValidationError(_l("Please choose your country."))


class NewCaseForm(FlaskForm):
    slug = StringField(
        _l("Address of the case page"),
        description=_l("Lower-case letters, digits and hyphens, e.g. ana-example."),
        filters=[strip_filter],
        validators=[DataRequired(), Length(max=80), Regexp(r"^[a-z0-9]+(-[a-z0-9]+)*$")],
    )
    person_name = StringField(
        _l("Name of the person"), filters=[strip_filter], validators=[DataRequired(), Length(max=200), CleanText()]
    )
    country = StringField(_l("Country"), widget=CountrySelect(_l("Choose…")), validators=[DataRequired(), _country])


class CaseSettingsForm(FlaskForm):
    person_name = StringField(
        _l("Name of the person"), filters=[strip_filter], validators=[DataRequired(), Length(max=200), CleanText()]
    )
    country = StringField(_l("Country"), widget=CountrySelect(_l("Choose…")), validators=[DataRequired(), _country])
    person_language = StringField(
        _l("The person's own language (code, e.g. ar)"),
        filters=[strip_filter],
        validators=[DataRequired(), Length(max=16)],
    )
    status = SelectField(
        _l("Status"), choices=[SelectChoice("active", _l("Active")), SelectChoice("success", _l("Success story"))]
    )
    published = BooleanField(_l("Published"))
    goal = IntegerField(_l("Goal (actions)"), validators=[Optional(), NumberRange(min=0, max=1_000_000_000)], default=0)
    wall_public = BooleanField(_l("Show approved messages of hope publicly"))
    forwarding_contact_name = StringField(
        _l("Forwarding contact"), filters=[strip_filter], validators=[Optional(), Length(max=200), CleanText()]
    )
    forwarding_contact_email = EmailField(
        _l("Forwarding contact's email"),
        filters=[strip_filter],
        validators=[Optional(), Length(max=320), EmailAddress()],
    )

    def validate_person_language(self, field) -> None:
        _language_code(self, field)


class CaseContentForm(FlaskForm):
    headline = StringField(_l("Who they are"), filters=[strip_filter], validators=[Length(max=200), CleanText()])
    story = TextAreaField(
        _l("What happened"),
        filters=[strip_filter],
        validators=[Length(max=20000), CleanText(multiline=True, allow_bidi=True)],
    )
    ask = TextAreaField(
        _l("What to ask for"),
        filters=[strip_filter],
        validators=[Length(max=5000), CleanText(multiline=True, allow_bidi=True)],
    )
    outcome = TextAreaField(
        _l("What the letters did"),
        filters=[strip_filter],
        validators=[Length(max=5000), CleanText(multiline=True, allow_bidi=True)],
    )
    appeal_subject = StringField(
        _l("Subject of the appeals"), filters=[strip_filter], validators=[Length(max=200), CleanText()]
    )
    appeal_template = TextAreaField(
        _l("Appeal letter template"),
        filters=[strip_filter],
        validators=[Length(max=6000), CleanText(multiline=True, allow_bidi=True)],
    )


class TargetForm(FlaskForm):
    """An authority the appeals of a case are sent to."""

    name = StringField(
        _l("Name of the authority"), filters=[strip_filter], validators=[DataRequired(), Length(max=200), CleanText()]
    )
    title = StringField(
        _l("Title (e.g. Minister of Justice)"), filters=[strip_filter], validators=[Length(max=200), CleanText()]
    )
    language = StringField(
        _l("Language the authority reads (code, e.g. es)"),
        filters=[strip_filter],
        validators=[DataRequired(), Length(max=16), _language_code],
    )
    country = StringField(_l("Country"), widget=CountrySelect(_l("Choose…")), validators=[DataRequired(), _country])
    addresses = TextAreaField(
        _l("Email addresses"),
        description=_l("One per line. Each appeal is sent once to every address."),
        validators=[DataRequired()],
    )
    max_per_hour = IntegerField(
        _l("At most this many emails per address and hour"),
        default=120,
        validators=[DataRequired(), NumberRange(min=1, max=100_000)],
    )
    digest = BooleanField(_l("Send one daily email with the appeals attached instead of one email per appeal"))
    paused = BooleanField(_l("Sending paused (queued appeals wait)"))

    def validate_addresses(self, field) -> None:
        emails = [line.strip() for line in (field.data or "").splitlines() if line.strip()]
        if not emails:
            raise ValidationError(_l("Give at least one email address."))
        if len(emails) > 20:
            raise ValidationError(_l("Give at most 20 addresses."))
        normalised = []
        for email in emails:
            try:
                normalised.append(accepted_address(email))
            except AddressError as error:
                if error.code == "non_ascii_mailbox":
                    raise ValidationError(
                        _l(
                            "%(email)s has accented letters or letters of another alphabet before the @: many mail "
                            "servers cannot deliver to it. Ask the authority for another address.",
                            email=email,
                        )
                    ) from None
                raise ValidationError(_l("%(email)s is not a valid email address.", email=email)) from None
        field.emails = normalised


TIMELINE_KINDS = {
    # Translators: kinds of entries on a case's timeline, chosen by admins.
    "arrest": _l("Arrest"),
    "charge": _l("Charges"),
    "trial": _l("Trial"),
    "sentence": _l("Sentence"),
    "release": _l("Release"),
    "campaign": _l("Campaign"),
    "update": _l("Other news"),
}


class TimelineEntryForm(FlaskForm):
    """A dated entry on a case's timeline; `timeline_form` adds one text field per language."""

    happened_on = DateField(_l("Date"), validators=[DataRequired()])
    precision = SelectField(
        _l("How precise the date is"),
        choices=[
            SelectChoice("day", _l("The exact day is known")),
            SelectChoice("month", _l("Only the month is known")),
            SelectChoice("year", _l("Only the year is known")),
        ],
    )
    kind = SelectField(_l("Kind"), choices=[SelectChoice(code, label) for code, label in TIMELINE_KINDS.items()])
    announce = BooleanField(
        _l("Email this news to the supporters of the case who asked to hear about it (once, in their language)")
    )
    locales: tuple[str, ...] = ()

    def text_fields(self):
        return [self[f"text_{locale}"] for locale in self.locales]

    def texts(self) -> dict[str, str]:
        return {locale: self[f"text_{locale}"].data or "" for locale in self.locales}

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        if valid and not self.texts().get("en", "").strip():
            self["text_en"].errors.append(
                _l("Write the entry in English at least: it is shown where a translation is missing.")
            )
            return False
        return valid


def timeline_form(locales: tuple[str, ...], **kwargs) -> TimelineEntryForm:
    """The timeline form with one text per language (English first, the fallback)."""

    class Form(TimelineEntryForm):
        pass

    Form.locales = tuple(locales)
    for locale in locales:
        setattr(
            Form,
            f"text_{locale}",
            TextAreaField(
                _l("Text in %(language)s", language=language_name(locale)),
                filters=[strip_filter],
                validators=[Length(max=2000), CleanText(multiline=True, allow_bidi=True)],
            ),
        )
    return Form(**kwargs)
