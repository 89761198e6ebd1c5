"""The printable bundle: WeasyPrint (Pango and HarfBuzz) with Debian's Noto fonts, so Latin, Arabic right to left,
CJK and other scripts are shaped correctly."""

from __future__ import annotations

from flask import render_template
from flask_babel import force_locale

from app.i18n import text_direction


class ExternalResourceRefused(ValueError):
    pass


def _no_fetching(url: str, *args, **kwargs):
    """The PDF is made from our template and escaped letters only: nothing is ever fetched while rendering."""
    raise ExternalResourceRefused(f"the bundle PDF does not load {url[:80]!r}")


def render_bundle_pdf(case, letters, locale: str) -> bytes:
    from weasyprint import HTML  # imported here: it loads system libraries, needed only when bundling

    with force_locale(locale):
        html = render_template(
            "moderation/bundle.html", case=case, letters=letters, locale=locale, direction=text_direction
        )
    return HTML(string=html, url_fetcher=_no_fetching).write_pdf()
