"""Composing every outgoing email in one place: safe headers, UTF-8 bodies that survive any line length.

Supporter input reaches headers only through `header_text()`, which removes anything that could end a header
(CR, LF, NUL, other control characters): Python 3.11.7 predates the standard library's own guard (CVE-2024-6923).
Bodies are quoted-printable, so a 5,000-character line never breaks SMTP's 998-octet limit.
"""

from __future__ import annotations

import base64
import re
import unicodedata
import uuid
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime, formataddr

from flask import current_app
from flask_babel import force_locale

from app.addresses import wire_address
from app.models_base import utcnow

SMTP_POLICY = policy.SMTP.clone(max_line_length=78)
# Only for a message whose headers carry a mailbox name in another script: raw UTF-8 headers, sent with SMTPUTF8.
SMTPUTF8_POLICY = SMTP_POLICY.clone(utf8=True)
# Characters never allowed in a header: line breaks of every kind, NUL and the other controls.
_HEADER_UNSAFE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u0085]")
_BIDI_CONTROLS = re.compile(r"[\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]")
# Encoded words hold at most this many bytes of UTF-8 (base64 of 39 bytes is 52 characters): each folded line stays
# within 78 characters.
_ENCODED_WORD_BYTES = 39


@dataclass
class Attachment:
    filename: str
    content: bytes
    maintype: str = "application"
    subtype: str = "octet-stream"


@dataclass
class Email:
    """What an email says, before it becomes bytes."""

    subject: str
    text: str
    html: str | None = None
    sender_name: str | None = None
    reply_to: str | None = None
    attachments: list[Attachment] = field(default_factory=list)
    extra_headers: dict[str, str] = field(default_factory=dict)
    # RFC 3834: a message the platform sends of itself (confirmations, notices, news), not one a person wrote;
    # auto-responders must not answer it.
    auto_submitted: bool = False


def header_text(value: str | None, max_length: int = 200) -> str:
    """Text safe to put in a header: one line, no controls, no direction overrides, bounded length."""
    value = unicodedata.normalize("NFC", value or "")
    value = _HEADER_UNSAFE.sub(" ", value)
    value = _BIDI_CONTROLS.sub("", value)
    value = " ".join(value.split())
    return value[:max_length].strip()


def checked_address(address: str) -> str:
    """The address as it goes on the wire (domain in A-labels), or AddressError (see app.addresses)."""
    return wire_address(address).text


def sender_address() -> str:
    return checked_address(current_app.config["MAIL_DEFAULT_SENDER"])


def new_message_id(prefix: str = "msg") -> str:
    domain = sender_address().rpartition("@")[2]
    return f"<{prefix}.{uuid.uuid4().hex}@{domain}>"


def body_text(text: str) -> str:
    """Normalise line endings; keep everything else as written."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


class _EncodedHeader(str):
    """A header value folded here rather than by the `email` package.

    Python 3.11's folder splits encoded words at spaces and leaves the space between them, where RFC 2047 decoders
    drop it ("قنديل عن" arrives as "قنديلعن"). Here every space stays inside an encoded word, and words are cut
    between characters only. The email package uses `fold()` for any value with a `name` attribute.
    """

    def __new__(cls, name: str, text: str, parts: list[str], suffix: str = ""):
        value = super().__new__(cls, text)
        value.name, value.parts, value.suffix = name, parts, suffix
        return value

    def fold(self, *, policy) -> str:
        parts = list(self.parts)
        if self.suffix:
            last = len(parts[-1]) + (len(self.name) + 2 if len(parts) == 1 else 1)
            if last + len(self.suffix) > policy.max_line_length:
                parts.append(self.suffix.lstrip())  # the address on a line of its own
            else:
                parts[-1] += self.suffix
        return f"{self.name}: {(policy.linesep + ' ').join(parts)}{policy.linesep}"


def encoded_words(text: str) -> list[str]:
    """`text` as RFC 2047 base64 encoded words of at most _ENCODED_WORD_BYTES bytes each, never splitting a
    character; joined by folding white space they decode to exactly `text`."""
    chunks: list[bytes] = []
    chunk = b""
    for char in text:
        encoded = char.encode("utf-8")
        if chunk and len(chunk) + len(encoded) > _ENCODED_WORD_BYTES:
            chunks.append(chunk)
            chunk = b""
        chunk += encoded
    if chunk:
        chunks.append(chunk)
    return [f"=?utf-8?b?{base64.b64encode(c).decode('ascii')}?=" for c in chunks]


def _literal(text: str) -> bool:
    """Whether the email package would carry `text` as it is. Not so for other scripts, nor for text that looks
    like an encoded word (`=?utf-8?q?Jane=0D=0A...?=`), which it would decode, line breaks included."""
    return text.isascii() and "=?" not in text


def _text_header(name: str, text: str) -> str:
    return text if _literal(text) else _EncodedHeader(name, text, encoded_words(text))


def _address_header(name: str, display: str | None, address: str) -> str:
    if not display:
        return address if address.isascii() else _EncodedHeader(name, address, [address])
    if _literal(display) and address.isascii():
        return formataddr((display, address))
    phrase = [formataddr((display, "x@x")).rpartition(" <")[0]] if _literal(display) else encoded_words(display)
    return _EncodedHeader(name, display, phrase, f" <{address}>")


def build_message(email: Email, message_id: str) -> EmailMessage:
    """The MIME message, without `To:` (the worker adds the address it actually delivers to).

    Raises AddressError when the sender or Reply-To cannot go on the wire.
    """
    reply_to = wire_address(email.reply_to) if email.reply_to else None
    # A Reply-To whose mailbox name is not ASCII can only travel in raw UTF-8 headers (and with SMTPUTF8).
    msg = EmailMessage(policy=SMTPUTF8_POLICY if reply_to and reply_to.needs_smtputf8 else SMTP_POLICY)
    site = header_text(current_app.config["SITE_NAME"], 80)
    display = header_text(email.sender_name, 120) if email.sender_name else site
    msg["From"] = _address_header("From", display, sender_address())
    if reply_to:
        msg["Reply-To"] = _address_header("Reply-To", None, reply_to.text)
    msg["Subject"] = _text_header("Subject", header_text(email.subject, 250))
    msg["Date"] = format_datetime(utcnow())
    msg["Message-ID"] = message_id
    msg["Auto-Submitted"] = "auto-generated" if email.auto_submitted else "no"
    for name, value in email.extra_headers.items():
        msg[header_text(name, 60)] = header_text(value, 900)
    msg.set_content(body_text(email.text), charset="utf-8", cte="quoted-printable")
    if email.html is not None:
        msg.add_alternative(email.html, subtype="html", charset="utf-8", cte="quoted-printable")
    for attachment in email.attachments:
        msg.add_attachment(
            attachment.content,
            maintype=attachment.maintype,
            subtype=attachment.subtype,
            filename=header_text(attachment.filename, 120),
        )
    return msg


def message_bytes(msg: EmailMessage) -> bytes:
    return msg.as_bytes(policy=msg.policy)


def render_email(template: str, locale: str, **context) -> Email:
    """Render `email/<template>.txt` (blocks `subject` and `body`) in the recipient's language."""
    with force_locale(locale):
        tpl = current_app.jinja_env.get_template(f"email/{template}.txt")
        ctx = tpl.new_context({**_template_globals(), **context})
        subject = "".join(tpl.blocks["subject"](ctx)).strip()
        body = "".join(tpl.blocks["body"](ctx)).strip() + "\n"
    return Email(subject=subject, text=body)


def _template_globals() -> dict:
    # The same helpers web pages have (gettext, filters), without a request.
    context: dict = {}
    current_app.update_template_context(context)
    return context
