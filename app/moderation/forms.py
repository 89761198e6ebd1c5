"""Staff forms for moderation decisions."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import Field, StringField, TextAreaField
from wtforms.validators import AnyOf, Length, Optional

from app.forms import strip_filter


class IdListField(Field):
    """Every submitted value that is a plain id (tampered or foreign values are dropped, never a 500)."""

    def process_formdata(self, valuelist):
        self.data = [int(v) for v in valuelist if v.isascii() and v.isdigit() and len(v) <= 18]

    def _value(self):
        return ""


class DecisionForm(FlaskForm):
    """Approve or reject the selected letters; one letter may be approved with an edited (redacted) text."""

    letter = IdListField(_l("Messages"), default=list)
    action = StringField(_l("Decision"), validators=[AnyOf(("approve", "reject"))])
    reason = StringField(_l("Reason"), filters=[strip_filter], validators=[Optional(), Length(max=500)])
    redacted_text = TextAreaField(_l("Text to pass on"))

    @property
    def redaction(self) -> str | None:
        """The edited text, or None when the form had no such field (the queue's bulk decisions)."""
        return self.redacted_text.data if self.redacted_text.raw_data else None
