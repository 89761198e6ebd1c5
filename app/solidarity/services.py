"""Collecting messages of hope: flags that help the moderator, counters, the public wall."""

from __future__ import annotations

import re
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import func, select

from app.cases.models import Case
from app.extensions import db
from app.models_base import utcnow
from app.solidarity.models import LETTER_STATES, SolidarityLetter

LINK = re.compile(r"(https?://|www\.)\S+|\b[\w-]+\.(com|org|net|info|ru|cn|io|xyz)\b", re.IGNORECASE)
EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")
PHONE = re.compile(r"(?:\+|\b00)?\d[\d\s().-]{7,}\d")
# A street address: a number next to a word for street in one of our languages (prison staff read the post).
ADDRESS = re.compile(
    r"\b\d{1,5}\s*,?\s*(rue|avenue|av\.|street|st\.|road|calle|avenida|rua|boulevard|bd)\b"
    r"|\b(rue|avenue|street|road|calle|avenida|rua)\s+[^\d\n]{2,40}\s\d{1,5}\b|(شارع|حي)\s+\S+",
    re.IGNORECASE,
)
# A small list of words a moderator should always see, per language (insults, threats).
BLOCK_LIST = {
    "en": ("kill", "traitor", "terrorist", "die"),
    "fr": ("tuer", "traître", "terroriste", "crève"),
    "es": ("matar", "traidor", "terrorista", "muérete"),
    "ar": ("اقتل", "خائن", "إرهابي", "موت"),
}


class CaseClosed(Exception):
    pass


@dataclass
class HopeInput:
    first_name: str
    country: str
    language: str
    message: str


def automatic_flags(
    message: str, automated: bool = False, first_name: str = "", language: str = "", case_id: int | None = None
) -> list[str]:
    """What a moderator should look at twice; the flags never decide anything alone."""
    flags = []
    words = set(re.findall(r"\w+", message.casefold()))
    if LINK.search(message):
        flags.append("link")
    if EMAIL.search(message):
        flags.append("email")
    if PHONE.search(message):
        flags.append("phone")
    if len(message) > current_app.config["HOPE_LONG_CHARS"]:
        flags.append("long")
    if ADDRESS.search(message):
        flags.append("address")
    if len(first_name.split()) > 1:
        flags.append("surname")  # a full name can identify the writer to those who read the post
    if any(word in words for lang in {language, "en"} for word in BLOCK_LIST.get(lang, ())):
        flags.append("blocklist")
    if case_id is not None and _repeated(message, case_id):
        flags.append("repeated")
    if automated:
        flags.append("automated")
    return flags


# How far back (in letters, site-wide) a copy counts as repeated: bounded, so the check stays an index range scan
# however many letters a case has received.
REPEAT_WINDOW = 20_000


def _repeated(message: str, case_id: int) -> bool:
    """The same text sent recently for this case by someone else (a campaign of copies, or a bot)."""
    newest = db.session.scalar(select(func.max(SolidarityLetter.id))) or 0
    copy = (
        select(SolidarityLetter.id)
        .where(
            SolidarityLetter.case_id == case_id,
            SolidarityLetter.state.in_(LETTER_STATES),  # walks ix_solidarity_letters_case_state by id range
            SolidarityLetter.id > newest - REPEAT_WINDOW,
            SolidarityLetter.message == message,
        )
        .limit(1)
    )
    return db.session.scalar(copy) is not None


def submit_solidarity_letter(case: Case, data: HopeInput, *, automated: bool = False) -> SolidarityLetter:
    """Store a message of hope for moderation (flushes; the caller commits). It is counted once approved."""
    if not case.published or case.status != "active":
        raise CaseClosed()
    letter = SolidarityLetter(
        case_id=case.id,
        first_name=data.first_name,
        country=data.country,
        language=data.language,
        message=data.message,
        flags=",".join(automatic_flags(data.message, automated, data.first_name, data.language, case.id)),
        state="pending",
        created_at=utcnow(),
    )
    db.session.add(letter)
    db.session.flush()
    return letter


def wall(case: Case, limit: int = 50, before_id: int | None = None) -> list[SolidarityLetter]:
    """Approved messages for the public wall, newest first, paginated by key; empty unless the case opted in."""
    if not case.wall_public:
        return []
    query = select(SolidarityLetter).where(SolidarityLetter.case_id == case.id, SolidarityLetter.state == "approved")
    if before_id:
        query = query.where(SolidarityLetter.id < before_id)
    return list(db.session.scalars(query.order_by(SolidarityLetter.id.desc()).limit(limit)))
