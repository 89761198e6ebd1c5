"""Thin views over the appeals service: the form, the confirmation link, thank-you and delivery status."""

from __future__ import annotations

from flask import abort, current_app, redirect, render_template, request, url_for
from flask_wtf.csrf import generate_csrf

from app.appeals import services
from app.appeals.forms import AppealForm, ConfirmAppealForm
from app.cases import services as cases
from app.extensions import db, limiter
from app.forms import BotTrap
from app.i18n import country_name, current_locale, localized_blueprint, text_direction
from app.pagecache import form_pages
from app.public import form_rate_limit, published_case_or_404

bp = localized_blueprint("appeals", __name__)


@bp.get("/cases/<slug>/appeal/")
def appeal_form(slug: str):
    """The form, prefilled with the case's letter; the same HTML for everyone for a few seconds (app.pagecache)."""
    locale = current_locale()
    requested_language = request.args.get("letter_language") or locale

    def render(tokens: dict[str, str]) -> str:
        case = _open_case(slug)
        form = AppealForm()
        language, _subject, template = services.appeal_draft(case, locale, requested_language)
        form.letter.data = template
        form.letter_language.data = language
        form.started.data = tokens["started"]
        return _form_page(case, form, locale, language)

    return form_pages.page(
        ("appeal", slug, locale, requested_language),
        render,
        tokens={"csrf": generate_csrf, "started": BotTrap.start_token},
        # Cached only for one supported language asked once, as our links write it: the key holds a checked value.
        allowed_args={"letter_language": current_app.config["LANGUAGES"]},
    )


@bp.post("/cases/<slug>/appeal/")
@limiter.limit(form_rate_limit)
def write_appeal(slug: str):
    case = _open_case(slug)
    locale = current_locale()
    form = AppealForm()
    if not form.validate_on_submit():
        form.started.data = form.started.data or BotTrap.start_token()
        language = services.appeal_draft(case, locale, form.letter_language.data or locale)[0]
        return _form_page(case, form, locale, language), 400
    data = services.AppealInput(
        name=form.name.data,
        email=form.email.data,
        country=form.country.data,
        letter=form.letter.data,
        locale=locale,
        letter_language=form.letter_language.data or locale,
        consent_share=form.consent_share.data,
        consent_reply=form.consent_reply.data,
        consent_updates=form.consent_updates.data,
    )
    automated = BotTrap.looks_automated(form.website.data, form.started.data)
    try:
        submission = services.submit_appeal(case, data, automated=automated)
    except services.DuplicateAppeal as duplicate:
        if not current_app.config["APPEAL_CONFIRMATION"]:
            db.session.rollback()
            return render_template("appeals/duplicate.html", case=case), 409
        services.notify_duplicate(duplicate.appeal, locale)
        db.session.commit()
        return redirect(url_for("appeals.check_email", slug=slug))
    except services.CaseClosed:
        abort(404)
    db.session.commit()
    if submission.outcome == "queued":
        return redirect(url_for("appeals.thanks", token=services.status_token(submission.appeal)))
    return redirect(url_for("appeals.check_email", slug=slug))


def _open_case(slug: str):
    """A published case that takes appeals (else 404)."""
    case = published_case_or_404(slug, active=True)
    if not case.targets:
        abort(404)
    return case


def _form_page(case, form: AppealForm, locale: str, language: str) -> str:
    letter_language = form.letter_language.data or language
    return render_template(
        "appeals/appeal_form.html",
        case=case,
        form=form,
        subject=services.appeal_draft(case, locale, letter_language)[1],
        letter_language=letter_language,
        languages=services.letter_languages(case, locale),
        content=cases.localized_content(case, locale),
    )


@bp.get("/cases/<slug>/appeal/check-your-email/")
def check_email(slug: str):
    case = published_case_or_404(slug)
    return render_template("appeals/check_email.html", case=case, hours=current_app.config["APPEAL_CONFIRM_HOURS"])


@bp.route("/appeals/confirm/<token>/", methods=["GET", "POST"])
@limiter.limit(form_rate_limit, methods=["POST"])
def confirm(token: str):
    """The link in the confirmation email. GET shows exactly what will be sent and a button; POST confirms (mail
    scanners only GET)."""
    form = ConfirmAppealForm()
    try:
        appeal = services.appeal_to_confirm(token)
        if request.method == "POST" and form.validate_on_submit():
            appeal = services.confirm_appeal(token)
            db.session.commit()
            return redirect(url_for("appeals.thanks", token=services.status_token(appeal)))
    except services.AppealSuperseded:
        db.session.rollback()
        return render_template("appeals/confirm_failed.html", reason="superseded"), 410
    except services.AppealExpired:
        db.session.rollback()
        return render_template("appeals/confirm_failed.html", reason="expired"), 410
    except services.InvalidToken:
        db.session.rollback()
        return render_template("appeals/confirm_failed.html", reason="invalid"), 404
    return render_template(
        "appeals/confirm.html",
        token=token,
        form=form,
        appeal=appeal,
        authorities=[target.title or target.name for target in appeal.case.targets],
        # The signature as the authority reads it: the country's name in the letter's language.
        letter_country=country_name(appeal.country, appeal.letter_language),
        letter_direction=text_direction(appeal.letter_language),
    ), (400 if request.method == "POST" else 200)


@bp.route("/appeals/unsubscribe/<token>/", methods=["GET", "POST"])
def unsubscribe(token: str):
    """Stop news of a case. POST without a form is the one-click unsubscribe of RFC 8058 (List-Unsubscribe-Post)."""
    form = ConfirmAppealForm()
    one_click = request.method == "POST" and request.form.get("List-Unsubscribe") == "One-Click"
    if request.method == "POST" and (one_click or form.validate_on_submit()):
        try:
            appeal = services.unsubscribe(token)
        except services.InvalidToken:
            abort(404)
        db.session.commit()
        return render_template("appeals/unsubscribed.html", case=appeal.case)
    return render_template("appeals/unsubscribe.html", token=token, form=form)


@bp.get("/appeals/<token>/thanks/")
def thanks(token: str):
    appeal = _appeal_or_404(token)
    view = cases.case_view(appeal.case, current_locale())
    case_url = url_for("cases.case_detail", slug=appeal.case.slug, _external=True)
    return render_template("appeals/thanks.html", appeal=appeal, view=view, token=token, case_url=case_url)


@bp.get("/appeals/<token>/")
def status(token: str):
    appeal = _appeal_or_404(token)
    return render_template("appeals/status.html", appeal=appeal, lines=services.delivery_status(appeal))


def _appeal_or_404(token: str):
    try:
        return services.appeal_from_status_token(token)
    except services.InvalidToken:
        abort(404)


@bp.after_request
def private_pages_are_not_cached(response):
    # Confirmation and status pages are reached through private links: keep them out of caches and referrers.
    if request.endpoint in ("appeals.confirm", "appeals.thanks", "appeals.status", "appeals.unsubscribe"):
        response.headers["Cache-Control"] = "no-store"
        response.headers["Referrer-Policy"] = "no-referrer"
    return response
