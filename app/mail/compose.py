"""Composing every outgoing email in one place: safe headers, UTF-8 bodies that survive any line length.

Supporter input reaches headers only through `header_text()`, which removes anything that could end a header
(CR, LF, NUL, other control characters): Python 3.11.7 predates the standard library's own guard (CVE-2024-6923).
Bodies are quoted-printable, so a 5,000-character line never breaks SMTP's 998-octet limit.
"""

from __future__ import annotations

import re
import unicodedata
import uuid
from dataclasses import dataclass, field
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, formataddr

from flask import current_app
from flask_babel import force_locale

from app.models_base import utcnow

SMTP_POLICY = policy.SMTP.clone(max_line_length=78)
# Characters never allowed in a header: line breaks of every kind, NUL and the other controls.
_HEADER_UNSAFE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u0085]")
_BIDI_CONTROLS = re.compile(r"[\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]")


class InvalidAddress(ValueError):
    pass


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


def header_text(value: str | None, max_length: int = 200) -> str:
    """Text safe to put in a header: one line, no controls, no direction overrides, bounded length."""
    value = unicodedata.normalize("NFC", value or "")
    value = _HEADER_UNSAFE.sub(" ", value)
    value = _BIDI_CONTROLS.sub("", value)
    value = " ".join(value.split())
    return value[:max_length].strip()


def checked_address(address: str) -> str:
    """An email address fit for an envelope and a header, or InvalidAddress."""
    if not address or _HEADER_UNSAFE.search(address) or any(c in address for c in ' ,;<>()"\\'):
        raise InvalidAddress(address)
    local, _, domain = address.rpartition("@")
    if not local or not domain or "." not in domain:
        raise InvalidAddress(address)
    return address


def sender_address() -> str:
    return checked_address(current_app.config["MAIL_DEFAULT_SENDER"])


def new_message_id(prefix: str = "msg") -> str:
    domain = sender_address().rpartition("@")[2]
    return f"<{prefix}.{uuid.uuid4().hex}@{domain}>"


def body_text(text: str) -> str:
    """Normalise line endings; keep everything else as written."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


def build_message(email: Email, message_id: str) -> EmailMessage:
    """The MIME message, without `To:` (the worker adds the address it actually delivers to)."""
    msg = EmailMessage(policy=SMTP_POLICY)
    site = header_text(current_app.config["SITE_NAME"], 80)
    display = header_text(email.sender_name, 120) if email.sender_name else site
    msg["From"] = formataddr((display, sender_address()))
    if email.reply_to:
        msg["Reply-To"] = str(Address(addr_spec=checked_address(email.reply_to)))
    msg["Subject"] = header_text(email.subject, 250)
    msg["Date"] = format_datetime(utcnow())
    msg["Message-ID"] = message_id
    msg["Auto-Submitted"] = "auto-generated" if email.extra_headers.get("_auto") else "no"
    for name, value in email.extra_headers.items():
        if not name.startswith("_"):
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
    return msg.as_bytes(policy=SMTP_POLICY)


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
