"""The organiser's report form, and the staff forms to decide on a report or enter one directly."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from flask_babel import format_decimal, gettext
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, EmailField, HiddenField, IntegerField, SelectField, StringField
from wtforms.validators import AnyOf, InputRequired, Length, Optional, ValidationError

from app.forms import CleanText, CountrySelect, EmailAddress, NotBlank, PublicForm, strip_filter
from app.i18n import is_country_code
from app.offline.models import MAX_LETTERS

EARLIEST_EVENT = date(2000, 1, 1)


def event_kind_choices() -> list[tuple[str, str]]:
    return [
        ("school", _l("A school or a class")),
        ("group", _l("A group meeting")),
        ("street_stall", _l("A street stall")),
        ("other", _l("Another kind of event")),
    ]


class EventDateField(DateField):
    """A date from `<input type="date">`, with our own translated message when it cannot be read."""

    def process_formdata(self, valuelist):
        if not valuelist or not valuelist[0].strip():
            self.data = None
            return
        try:
            self.data = datetime.strptime(valuelist[0].strip(), "%Y-%m-%d").date()
        except ValueError:
            self.data = None
            raise ValueError(_l("Please give the date of the event as year-month-day, e.g. 2026-03-15.")) from None


class LettersField(IntegerField):
    """A whole number of letters, with our own translated message when it is not one."""

    def process_formdata(self, valuelist):
        if not valuelist or not valuelist[0].strip():
            self.data = None
            return
        raw = valuelist[0].strip()
        if not (raw.isascii() and raw.isdigit() and len(raw) <= 9):
            self.data = None
            raise ValueError(_l("Please give the number of letters as a whole number, e.g. 25."))
        self.data = int(raw)


class ReportFields:
    """The fields of a report, shared by the organiser's form and the admin's direct entry."""

    event_name = StringField(
        _l("Name of the event"),
        description=_l("For example “Write for Rights at Jefferson High School”."),
        filters=[strip_filter],
        validators=[NotBlank(), Length(max=120), CleanText()],
    )
    event_kind = SelectField(
        _l("Kind of event"),
        choices=event_kind_choices,
        validators=[InputRequired(message=_l("Please choose the kind of event."))],
    )
    event_date = EventDateField(
        _l("Date of the event"),
        validators=[InputRequired(message=_l("Please give the date of the event."))],
    )
    place = StringField(
        _l("Town or place"),
        description=_l("Optional."),
        filters=[strip_filter],
        validators=[Length(max=120), CleanText()],
    )
    country = StringField(
        _l("Country"),
        widget=CountrySelect(_l("Choose…")),
        validators=[InputRequired(message=_l("Please choose the country."))],
    )
    letters = LettersField(
        _l("Number of letters written for this case"),
        description=_l("Count only handwritten letters that were posted or will be posted."),
        validators=[
            InputRequired(message=_l("Please give the number of letters.")),
        ],
    )
    organiser_name = StringField(
        _l("Your name"),
        description=_l("So that our team knows who organised the event."),
        filters=[strip_filter],
        validators=[NotBlank(), Length(max=100), CleanText()],
    )
    organiser_email = EmailField(
        _l("Your email address"),
        description=_l("Optional. Only our team sees it, if they have a question about your report."),
        filters=[strip_filter],
        validators=[
            Optional(),
            Length(max=254),
            CleanText(),
            EmailAddress(),
        ],
    )

    def validate_country(self, field) -> None:
        if not is_country_code(field.data) or field.data != field.data.upper():
            raise ValidationError(_l("Please choose the country."))

    def validate_event_date(self, field) -> None:
        if field.data is None:
            return
        if field.data > date.today() + timedelta(days=1):  # a day ahead: the organiser may be in another time zone
            raise ValidationError(_l("The event's date cannot be in the future."))
        if field.data < EARLIEST_EVENT:
            raise ValidationError(_l("Please check the date of the event."))

    def validate_letters(self, field) -> None:
        if field.data is not None and not 1 <= field.data <= MAX_LETTERS:
            raise ValidationError(
                gettext(
                    "Please give a number of letters between %(min)s and %(max)s.",
                    min=format_decimal(1),
                    max=format_decimal(MAX_LETTERS),
                )
            )

    def validate_organiser_email(self, field) -> None:
        if any(c in (field.data or "") for c in ",;<>\"'\\"):
            raise ValidationError(_l("Please enter a single email address."))


class PaperReportForm(ReportFields, PublicForm):
    # A field people never see; automated scripts fill it in.
    website = StringField(_l("Leave this field empty"))
    started = HiddenField()


class EnterReportForm(ReportFields, FlaskForm):
    """An admin enters a report already checked (e.g. from an email or a phone call)."""

    case_id = SelectField(_l("Case"), coerce=int, validators=[InputRequired()])


class ReportDecisionForm(FlaskForm):
    action = StringField(_l("Decision"), validators=[AnyOf(("approve", "reject"))])
    reason = StringField(_l("Reason"), filters=[strip_filter], validators=[Optional(), Length(max=500)])
