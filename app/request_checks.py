"""What a request must be before any view reads it: a readable address, and a form body that is bounded, parsed
once (only when a view asks for it, so after the rate limit) and never holds a file.

- A path that is not UTF-8 or holds a NUL names nothing here (404); so does an integer beyond 64 bits in a path.
- A query string that is not UTF-8 or holds a NUL is refused (400): no link of ours looks like that, and PostgreSQL
  cannot store or compare a NUL.
- Form bodies from visitors are limited to `FORM_MAX_BYTES` and every form to `MAX_FORM_PARTS` fields; signed-in
  staff keep `MAX_CONTENT_LENGTH` (a case's content in one language is a form of up to 36,000 characters). The
  limit is checked against `Content-Length` before a byte is read.
- No form here takes files: a file part is refused with a page that says so. (A feature that takes uploads would
  lift both limits for its own endpoint here.)
- A JSON body is refused (400): no view here reads JSON, and Flask-WTF would take it for a form, nested values and
  all (a deeply nested one exhausted the parser's recursion).
- A url-encoded form is parsed in one pass that also notes the fields whose bytes are not UTF-8, for the form
  validators (`undecodable_fields`): Werkzeug keeps such bytes as literal `%FF` text, which a validator could not
  tell from typed text.
"""

from __future__ import annotations

from urllib.parse import unquote_to_bytes

import werkzeug.urls  # noqa: F401 - registers the "werkzeug.url_quote" codec error handler
from flask import Request, abort, current_app, request
from flask_babel import lazy_gettext as _l
from werkzeug.datastructures import ImmutableMultiDict
from werkzeug.exceptions import BadRequest, RequestEntityTooLarge
from werkzeug.formparser import FormDataParser

FORM_MIMETYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})
INT64 = range(-(2**63), 2**63)


class FilesNotAccepted(BadRequest):
    """A form body with a file part: no form here takes files."""

    public_message = _l("This form takes text only, not files. Please type or paste your text into the form.")


class UnreadableAddress(BadRequest):
    """A query string that is not UTF-8 or holds a NUL byte."""

    public_message = _l("The address of this page contains characters that no link of ours has. Please check it.")


class FormFields(ImmutableMultiDict):
    """A parsed url-encoded form that remembers which fields held bytes that are not UTF-8."""

    undecodable: frozenset[str] = frozenset()


class _FormDataParser(FormDataParser):
    def parse(self, stream, mimetype, content_length, options=None):
        if mimetype != "application/x-www-form-urlencoded":
            return super().parse(stream, mimetype, content_length, options)
        body = stream.read()
        if self.max_form_parts is not None and body.count(b"&") >= self.max_form_parts:
            raise RequestEntityTooLarge()
        items, undecodable = [], set()
        for part in body.split(b"&"):
            if not part:
                continue
            raw_name, _sep, raw_value = part.partition(b"=")
            name = unquote_to_bytes(raw_name.replace(b"+", b" ")).decode("utf-8", "werkzeug.url_quote")
            value = unquote_to_bytes(raw_value.replace(b"+", b" "))
            try:
                text = value.decode("utf-8")
            except UnicodeDecodeError:
                text = value.decode("utf-8", "werkzeug.url_quote")  # as Werkzeug keeps it: `%FF`
                undecodable.add(name)
            items.append((name, text))
        form = FormFields(items)
        form.undecodable = frozenset(undecodable)
        return stream, form, self.cls()


class InkwellRequest(Request):
    """Flask's request with bounded form bodies, one-pass url-encoded parsing and no file parts."""

    form_data_parser_class = _FormDataParser

    @property
    def max_content_length(self) -> int | None:
        limit = Request.max_content_length.fget(self)
        if self.mimetype in FORM_MIMETYPES and not _signed_in_staff():
            form_limit = current_app.config["FORM_MAX_BYTES"]
            limit = form_limit if limit is None else min(limit, form_limit)
        return limit

    @max_content_length.setter
    def max_content_length(self, value: int | None) -> None:
        Request.max_content_length.fset(self, value)

    def _get_file_stream(self, total_content_length, content_type, filename=None, content_length=None):
        # Called by the multipart parser for each file part, before its content is read.
        raise FilesNotAccepted()


def _signed_in_staff() -> bool:
    from flask_login import current_user

    return bool(current_user and current_user.is_authenticated)


def undecodable_fields() -> frozenset[str]:
    """The names of the url-encoded form fields of this request whose bytes were not UTF-8."""
    return getattr(request.form, "undecodable", frozenset())


def refuse_unreadable_addresses() -> None:
    """Before every request (first of all): a path or query no link of ours can have ends here, before any work."""
    try:
        path = request.environ.get("PATH_INFO", "").encode("latin-1").decode("utf-8")
    except UnicodeError:
        abort(404)
    if "\x00" in path:
        abort(404)
    for value in (request.view_args or {}).values():
        if isinstance(value, int) and value not in INT64:
            abort(404)
    query = request.query_string
    if query:
        try:
            decoded = unquote_to_bytes(query).decode("utf-8")
        except UnicodeError:
            raise UnreadableAddress() from None
        if "\x00" in decoded:
            raise UnreadableAddress()
    if request.is_json:
        abort(400)  # no view here reads JSON (Flask-WTF would take it for a form, nested values and all)
