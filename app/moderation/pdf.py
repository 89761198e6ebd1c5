"""The printable bundle: WeasyPrint (Pango and HarfBuzz) with Debian's Noto fonts, so Latin, Arabic right to left,
CJK and other scripts are shaped correctly.

Rendering takes seconds for a full bundle, so it happens in the mail worker's housekeeping
(services.render_due_bundles), never in a request: `bundle_html` is the quick part (our template, escaped letters),
`html_to_pdf` the slow one.
"""

from __future__ import annotations

from flask import current_app, render_template
from flask_babel import force_locale

from app.i18n import text_direction
from app.moderation.layout import printed_message


class ExternalResourceRefused(ValueError):
    pass


def _no_fetching(url: str, *args, **kwargs):
    """The PDF is made from our template and escaped letters only: nothing is ever fetched while rendering."""
    raise ExternalResourceRefused(f"the bundle PDF does not load {url[:80]!r}")


def bundle_html(case, letters, locale: str) -> str:
    """The bundle as HTML: a cover, then each letter laid out within its bounds (see layout.printed_message)."""
    max_lines = current_app.config["BUNDLE_MESSAGE_MAX_LINES"]
    printed = [(letter, printed_message(letter.message, max_lines)) for letter in letters]
    with force_locale(locale):
        return render_template(
            "moderation/bundle.html",
            case=case,
            letters=printed,
            locale=locale,
            direction=text_direction,
            max_lines=max_lines,
        )


def html_to_pdf(html: str) -> bytes:
    from weasyprint import HTML  # imported here: it loads system libraries, needed only when bundling

    return HTML(string=html, url_fetcher=_no_fetching).write_pdf()


def render_bundle_pdf(case, letters, locale: str) -> bytes:
    return html_to_pdf(bundle_html(case, letters, locale))
