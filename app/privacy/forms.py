"""Staff forms for erasing personal data."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField
from wtforms.validators import DataRequired, Email, Length

from app.forms import strip_filter


class EraseSupporterForm(FlaskForm):
    email = EmailField(
        _l("The supporter's email address"),
        description=_l("Everything stored about this address is erased now; only a keyed hash of it is kept as proof."),
        filters=[strip_filter],
        validators=[DataRequired(), Length(max=320), Email()],
    )
