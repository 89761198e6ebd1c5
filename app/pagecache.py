"""A short-lived, per-process cache of public form pages, so that a campaign's rush does not re-render them.

On the busiest day most requests are the same few pages: the appeal form of a handful of cases, in four languages.
Rendering one (the case's content, the letter template, 250 localised countries) costs far more than the database
work of the appeal that follows, so the HTML is kept for a few seconds (`FORM_PAGE_CACHE_SECONDS`; 0 turns it off)
with every per-visitor value (the CSRF token, the form's start time) left as a marker and filled in per request.

Only a clean GET is cached: never a page with a form error, a flashed message or a query string other than one our
own links write (allowed names, each once, with an allowed value, plainly encoded): the page repeats its query (the
language switcher's links), so what one visitor sends must never be stored for the others, nor fill the cache. Edits
to a case show on the form within the cache's seconds; what is accepted is always checked against the database.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Collection, Mapping
from urllib.parse import urlencode

from flask import current_app, request, session

MAX_PAGES = 256  # a few cases x four languages x letter languages; more means someone is sweeping URLs


class FormPageCache:
    def __init__(self) -> None:
        self._pages: dict[tuple, tuple[float, str]] = {}
        self._lock = threading.Lock()

    def page(
        self,
        key: tuple,
        render: Callable[[dict[str, str]], str],
        tokens: dict[str, Callable[[], str]],
        allowed_args: Mapping[str, Collection[str]] | None = None,
    ) -> str:
        """The page for `key`: rendered by `render(values)` with `values` from `tokens`, or from the cache with fresh
        values put in. Token values must be unique strings that need no HTML escaping (signed tokens are).

        `allowed_args` maps each query parameter the page may be cached with to its allowed values; the key must
        hold what those values mean (any other query is rendered for its visitor alone)."""
        values = {name: make() for name, make in tokens.items()}
        seconds = current_app.config["FORM_PAGE_CACHE_SECONDS"]
        if seconds <= 0 or session.get("_flashes") or not _plain_query(allowed_args or {}):
            return render(values)
        now = time.monotonic()
        with self._lock:
            cached = self._pages.get(key)
        if cached and cached[0] > now:
            html = cached[1]
            for name, value in values.items():
                html = html.replace(_marker(name), value)
            return html
        html = render(values)
        template = html
        for name, value in values.items():
            template = template.replace(value, _marker(name))
        with self._lock:
            if len(self._pages) >= MAX_PAGES:
                self._pages = {k: v for k, v in self._pages.items() if v[0] > now}
            if len(self._pages) < MAX_PAGES:
                self._pages[key] = (now + seconds, template)
        return html

    def clear(self) -> None:
        with self._lock:
            self._pages.clear()


def _plain_query(allowed_args: Mapping[str, Collection[str]]) -> bool:
    """The query string is one our links write: allowed names, once each, allowed values, encoded as `url_for` does."""
    args = request.args
    for name in args:
        given = args.getlist(name)
        if name not in allowed_args or len(given) != 1 or given[0] not in allowed_args[name]:
            return False
    return request.query_string.decode("latin-1") == urlencode(list(args.items()))


def _marker(name: str) -> str:
    return f"\x00{name}\x00"  # cannot occur in rendered HTML: the text checks refuse control characters


form_pages = FormPageCache()
