"""Checks on text people type, shared by every form: what a field may hold and how it is cleaned."""

from __future__ import annotations

import re
import unicodedata

# Direction overrides and isolates can disguise text (a name that reads differently than it is stored).
BIDI_CONTROLS = re.compile(r"[\u202a-\u202e\u2066-\u2069]")
# C0/C1 controls except tab and line breaks (which only multi-line fields accept).
CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
LINE_BREAKS = re.compile(r"[\r\n\u2028\u2029\u0085]")
INVISIBLE = re.compile(r"[\s\u200b-\u200f\u2060-\u2064\ufeff\u180e\u00ad\u061c\u034f]+")


def normalise_text(value: str | None) -> str:
    """NFC, `\\n` line endings, no trailing whitespace at the ends."""
    value = unicodedata.normalize("NFC", value or "")
    return value.replace("\r\n", "\n").replace("\r", "\n").strip()


def has_undecodable_bytes(value: str) -> bool:
    # The request decoder turns invalid UTF-8 into U+FFFD, and NUL can never be stored in PostgreSQL text.
    return "\ufffd" in value or "\x00" in value


def is_blank(value: str) -> bool:
    """Nothing but spaces and invisible characters (zero-width spaces, joiners, BOM...)."""
    return not INVISIBLE.sub("", value or "")


def has_control_chars(value: str, allow_line_breaks: bool = False) -> bool:
    if CONTROL_CHARS.search(value):
        return True
    return not allow_line_breaks and bool(LINE_BREAKS.search(value))


def has_bidi_controls(value: str) -> bool:
    return bool(BIDI_CONTROLS.search(value))


def make_visible(value: str) -> str:
    """Control and direction characters shown as their code (for moderators), e.g. `[U+202E]`."""

    def show(match: re.Match) -> str:
        return f"[U+{ord(match.group()):04X}]"

    return BIDI_CONTROLS.sub(show, CONTROL_CHARS.sub(show, value))
