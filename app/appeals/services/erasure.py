"""Erasing appeals' personal data (retention policy or a supporter's request) without moving any figure."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import and_, exists, or_, select, update

from app.appeals.models import Appeal, DigestEntry
from app.extensions import db
from app.mail import outbox
from app.mail.models import OutboundMessage

WITHDRAWN = "withdrawn: the supporter asked for their data to be erased"


def erase_appeals(digest: str | None, cutoff: datetime | None, now: datetime) -> int:
    """Blank the personal data of appeals: one supporter's (by address digest), or all finished before `cutoff`.

    Figures do not move: the rows keep their case, country, language and dates, and the counters are separate.
    Erasing on request also withdraws messages not yet sent.
    """
    if digest is not None:
        condition = Appeal.email_digest == digest
    else:
        unconfirmed_cutoff = max(cutoff, now - timedelta(hours=current_app.config["APPEAL_CONFIRM_HOURS"]))
        waiting_message = exists().where(
            OutboundMessage.appeal_id == Appeal.id, OutboundMessage.state.in_(("pending", "retry", "sending"))
        )
        waiting_digest = exists().where(DigestEntry.appeal_id == Appeal.id, DigestEntry.outbound_message_id.is_(None))
        condition = or_(
            and_(Appeal.state == "confirmed", Appeal.confirmed_at < cutoff, ~waiting_message, ~waiting_digest),
            # Never confirmed (waiting, expired, held by a bot trap): kept no longer than a confirmation link lives.
            and_(Appeal.state != "confirmed", Appeal.created_at < unconfirmed_cutoff),
        )
    ids = list(db.session.scalars(select(Appeal.id).where(condition, Appeal.erased_at.is_(None))))
    erased = 0
    for start in range(0, len(ids), 1000):
        chunk = ids[start : start + 1000]
        erased += db.session.execute(
            update(Appeal)
            .where(Appeal.id.in_(chunk))
            .values(name="", email="", letter="", consent_reply=False, consent_updates=False, erased_at=now)
            .execution_options(synchronize_session=False)
        ).rowcount
        outbox.withdraw(chunk, WITHDRAWN, now)
        outbox.blank_personal_data(chunk, supporter_kinds=("confirmation", "notice"))
    if cutoff is not None:
        outbox.blank_finished("digest", cutoff)  # daily digests carry many supporters' letters in their attachment
    return erased
