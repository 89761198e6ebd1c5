"""The baseline for the appeal benchmark: a bare Flask route that validates a similar form and inserts one row.

Flask-WTF with CSRF on, the same kinds of fields and validators (required text, email address, country from a
list, consent box, honeypot), one INSERT through SQLAlchemy Core into PostgreSQL, a 302 to a thank-you page.
Served by gunicorn (`gunicorn bench.bare_app:app`); `BARE_DATABASE_URL` names the database, and `create_table()`
makes its table before the server starts.
"""

from __future__ import annotations

import os

import sqlalchemy as sa
from flask import Flask, redirect, render_template_string
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, HiddenField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Email, Length

COUNTRIES = [("FR", "France"), ("PT", "Portugal"), ("DE", "Germany"), ("GB", "United Kingdom"), ("US", "USA")]
metadata = sa.MetaData()
letters = sa.Table(
    "bare_letters",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("email", sa.String(320), nullable=False),
    sa.Column("country", sa.String(2), nullable=False),
    sa.Column("letter", sa.Text, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
)

PAGE = """<!doctype html><title>Write</title>
<form method="post">{{ form.csrf_token }}
{{ form.name() }} {{ form.email() }} {{ form.country() }} {{ form.letter() }} {{ form.consent_share() }}
{{ form.website() }} {{ form.started() }} {{ form.letter_language() }}<button>Send</button></form>"""


class LetterForm(FlaskForm):
    name = StringField(validators=[DataRequired(), Length(max=100)])
    email = EmailField(validators=[DataRequired(), Length(max=254), Email()])
    country = SelectField(choices=COUNTRIES, validators=[DataRequired()])
    letter = TextAreaField(validators=[DataRequired(), Length(max=6000)])
    consent_share = BooleanField(validators=[DataRequired()])
    letter_language = HiddenField()
    website = StringField()
    started = HiddenField()


def create_table(url: str) -> None:
    engine = sa.create_engine(url)
    metadata.create_all(engine)
    engine.dispose()


def create_app(url: str) -> Flask:
    app = Flask(__name__)
    app.config["SECRET_KEY"] = os.environ.get("SECRET_KEY", "bare-benchmark-secret")
    engine = sa.create_engine(url, pool_size=2)

    @app.route("/write/", methods=["GET", "POST"])
    def write():
        form = LetterForm()
        if form.validate_on_submit() and not form.website.data:
            with engine.begin() as conn:
                conn.execute(
                    letters.insert().values(
                        name=form.name.data, email=form.email.data, country=form.country.data, letter=form.letter.data
                    )
                )
            return redirect("/thanks/")
        return render_template_string(PAGE, form=form), (400 if form.is_submitted() else 200)

    @app.get("/thanks/")
    def thanks():
        return "Thank you."

    @app.get("/healthz")
    def health():
        return {"status": "ok"}

    return app


if os.environ.get("BARE_DATABASE_URL"):
    app = create_app(os.environ["BARE_DATABASE_URL"])
