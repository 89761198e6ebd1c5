"""What became of an appeal, per authority: shown to the supporter through their private link."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from app.appeals.models import Appeal, DigestEntry
from app.cases.models import Target, TargetAddress
from app.extensions import db
from app.mail.models import OutboundMessage


@dataclass
class DeliveryLine:
    target: str
    state: str  # "queued", "sent", "failed", "digest"
    sent_at: datetime | None = None
    reply: str | None = None


def delivery_status(appeal: Appeal) -> list[DeliveryLine]:
    lines: list[DeliveryLine] = []
    messages = db.session.execute(
        select(OutboundMessage, Target)
        .join(TargetAddress, TargetAddress.id == OutboundMessage.target_address_id)
        .join(Target, Target.id == TargetAddress.target_id)
        .where(OutboundMessage.appeal_id == appeal.id, OutboundMessage.kind == "appeal")
        .order_by(OutboundMessage.id)
    ).all()
    for message, target in messages:
        state = {"sent": "sent", "failed": "failed"}.get(message.state, "queued")
        lines.append(
            DeliveryLine(
                target.title or target.name,
                state,
                message.sent_at,
                message.last_reply if state == "failed" else None,
            )
        )
    entries = db.session.execute(
        select(DigestEntry, Target, OutboundMessage)
        .join(TargetAddress, TargetAddress.id == DigestEntry.target_address_id)
        .join(Target, Target.id == TargetAddress.target_id)
        .outerjoin(OutboundMessage, OutboundMessage.id == DigestEntry.outbound_message_id)
        .where(DigestEntry.appeal_id == appeal.id)
    ).all()
    for _entry, target, message in entries:
        if message is None:
            lines.append(DeliveryLine(target.title or target.name, "digest"))
        else:
            state = {"sent": "sent", "failed": "failed"}.get(message.state, "queued")
            lines.append(DeliveryLine(target.title or target.name, state, message.sent_at))
    return lines
