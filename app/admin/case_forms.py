"""Forms for editing cases (admins)."""

from __future__ import annotations

from babel import Locale, UnknownLocaleError
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Email, Length, NumberRange, Optional, Regexp, ValidationError

from app.forms import CleanText, CountrySelect, strip_filter
from app.i18n import is_country_code


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
    goal = IntegerField(_l("Goal (actions)"), validators=[Optional(), NumberRange(min=0)], default=0)
    wall_public = BooleanField(_l("Show approved messages of hope publicly"))
    forwarding_contact_name = StringField(
        _l("Forwarding contact"), filters=[strip_filter], validators=[Optional(), Length(max=200), CleanText()]
    )
    forwarding_contact_email = EmailField(
        _l("Forwarding contact's email"), filters=[strip_filter], validators=[Optional(), Length(max=320), Email()]
    )

    def validate_person_language(self, field) -> None:
        try:
            Locale.parse(field.data)
        except (UnknownLocaleError, ValueError):
            raise ValidationError(_l("Not a language code we know.")) from None


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
