"""Thin views: the message-of-hope form, its thank-you page, the public wall."""

from __future__ import annotations

from flask import abort, current_app, redirect, render_template, request, url_for
from wtforms.fields.choices import SelectChoice

from app.extensions import db, limiter
from app.forms import BotTrap
from app.i18n import current_locale, language_name, localized_blueprint
from app.public import form_rate_limit, page_key, published_case_or_404
from app.solidarity import services
from app.solidarity.forms import HopeForm
from app.solidarity.greetings import GREETINGS

bp = localized_blueprint("solidarity", __name__)


@bp.route("/cases/<slug>/hope/", methods=["GET", "POST"])
@limiter.limit(form_rate_limit, methods=["POST"])
def write(slug: str):
    case = published_case_or_404(slug)
    if case.status != "active":
        abort(404)
    locale = current_locale()
    form = HopeForm()
    languages = list(dict.fromkeys([locale, case.person_language, *current_app.config["LANGUAGES"]]))
    form.language.choices = [SelectChoice(code, language_name(code)) for code in languages]
    if request.method == "GET":
        form.language.data = locale
        form.started.data = BotTrap.start_token()
    elif form.validate_on_submit():
        data = services.HopeInput(
            first_name=form.first_name.data or "",
            country=form.country.data,
            language=form.language.data,
            message=form.message.data,
        )
        automated = BotTrap.looks_automated(form.website.data, form.started.data)
        try:
            services.submit_solidarity_letter(case, data, automated=automated)
        except services.CaseClosed:
            abort(404)
        db.session.commit()
        return redirect(url_for("solidarity.sent", slug=slug))
    own_greetings = GREETINGS.get(case.person_language, []) if case.person_language != locale else []
    status = 400 if request.method == "POST" else 200
    return render_template("solidarity/form.html", case=case, form=form, own_greetings=own_greetings), status


@bp.get("/cases/<slug>/hope/sent/")
def sent(slug: str):
    return render_template("solidarity/sent.html", case=published_case_or_404(slug))


@bp.get("/cases/<slug>/wall/")
def wall(slug: str):
    case = published_case_or_404(slug)
    if not case.wall_public:
        abort(404)
    letters = services.wall(case, before_id=page_key("before"))
    return render_template("solidarity/wall.html", case=case, letters=letters)
