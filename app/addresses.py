"""Email addresses: one place decides what is accepted, how an address is compared, and how it is put on the wire.

The rules, the same for supporters, authorities, fallback addresses, Reply-To and forwarding contacts:

- **Forms accept** what `email-validator` accepts without SMTPUTF8: any ASCII mailbox name, and a domain in any
  script (an IDN such as `bücher.example`). A mailbox name in another script (`jörg@example.org`) is refused with a
  clear message: few servers accept such addresses (SMTPUTF8, RFC 6531), and a letter must not depend on luck.
- **On the wire**, a domain always travels as A-labels (`xn--bcher-kva.example`, the `idna` package, IDNA 2008
  with UTS 46 mapping), in the envelope and in headers. An address whose mailbox name is not ASCII (only possible
  for rows written before this rule, or by hand) is sent with SMTPUTF8 when the server offers it, and otherwise
  fails with the reason recorded on that message.
- **Compared** (duplicates, rate limits, erasure) in one normal form: NFC, trimmed, case-folded, the domain in
  Unicode (U-labels), so `Jane@Bücher.example` and `jane@xn--bcher-kva.example` are the same person.
"""

from __future__ import annotations

import hashlib
import hmac
import unicodedata
from dataclasses import dataclass

import idna
from email_validator import EmailNotValidError, validate_email
from flask import current_app


class AddressError(ValueError):
    """Not an address Inkwell accepts; `code` says why ("invalid" or "non_ascii_mailbox")."""

    def __init__(self, code: str, address: str = ""):
        super().__init__(code)
        self.code = code
        self.address = address


def accepted_address(address: str) -> str:
    """The address as forms store it (domain lower-cased, NFC), or AddressError."""
    address = (address or "").strip()
    try:
        return validate_email(address, check_deliverability=False, allow_smtputf8=False).normalized
    except EmailNotValidError:
        local = address.rpartition("@")[0]
        if local and not local.isascii():
            try:
                validate_email(address, check_deliverability=False, allow_smtputf8=True)
            except EmailNotValidError:
                pass
            else:
                raise AddressError("non_ascii_mailbox", address) from None
        raise AddressError("invalid", address) from None


def normalise_address(address: str) -> str:
    """The form in which two spellings of one address compare equal (see the module's docstring)."""
    address = unicodedata.normalize("NFC", (address or "").strip())
    local, at, domain = address.rpartition("@")
    if not at:
        return address.casefold()
    try:
        domain = idna.decode(domain, uts46=True)
    except (idna.IDNAError, UnicodeError, ValueError):
        pass  # not a valid IDN: compare it as written
    return f"{local}@{domain}".casefold()


def address_digest(address: str) -> str:
    """A keyed hash of the normal form: finds a supporter's rows (duplicates, limits, erasure) without the address."""
    key = (current_app.config.get("EMAIL_DIGEST_KEY") or current_app.config["SECRET_KEY"]).encode()
    return hmac.new(key, normalise_address(address).encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class WireAddress:
    """An address as SMTP carries it: `text` for the envelope and headers, and whether it needs SMTPUTF8."""

    text: str
    needs_smtputf8: bool


def wire_address(address: str) -> WireAddress:
    """The domain in A-labels; the mailbox name untouched (if it is not ASCII, only SMTPUTF8 can carry it).

    Raises AddressError for what no server could take (no `@`, a domain that is not a valid IDN, controls).
    """
    address = unicodedata.normalize("NFC", (address or "").strip())
    local, at, domain = address.rpartition("@")
    if not at or not local or not domain or any(ord(c) < 33 or c in '<>()[],;:\\"' for c in domain):
        raise AddressError("invalid", address)
    if any(ord(c) < 32 or ord(c) == 127 or c in "<>" for c in local):
        raise AddressError("invalid", address)
    if not domain.isascii():
        try:
            domain = idna.encode(domain, uts46=True).decode("ascii")
        except (idna.IDNAError, UnicodeError, ValueError):
            raise AddressError("invalid", address) from None
    return WireAddress(f"{local}@{domain.lower()}", not local.isascii())
