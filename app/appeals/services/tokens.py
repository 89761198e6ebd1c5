"""The signed tokens in the links emails carry: confirmation (names a revision, expires), status, unsubscribe."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeSerializer, URLSafeTimedSerializer
from sqlalchemy import select

from app.appeals.models import Appeal
from app.appeals.services.errors import AppealExpired, AppealSuperseded, InvalidToken
from app.extensions import db
from app.models_base import utcnow

CONFIRM_SALT = "appeal-confirm"
STATUS_SALT = "appeal-status"


def confirmation_token(appeal: Appeal) -> str:
    """The link's token names the appeal and the revision it was sent for."""
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=CONFIRM_SALT).dumps(
        [appeal.public_id, appeal.revision]
    )


def signed_link_token(appeal: Appeal, salt: str) -> str:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=salt).dumps(appeal.public_id)


def appeal_from_signed_link(token: str, salt: str) -> Appeal:
    """The appeal a private link names (status page, unsubscribe), or InvalidToken if it was not ours."""
    try:
        public_id = URLSafeSerializer(current_app.config["SECRET_KEY"], salt=salt).loads(token)
    except BadSignature:
        raise InvalidToken() from None
    appeal = db.session.scalar(select(Appeal).where(Appeal.public_id == public_id))
    if appeal is None:
        raise InvalidToken()
    return appeal


def status_token(appeal: Appeal) -> str:
    return signed_link_token(appeal, STATUS_SALT)


def appeal_from_status_token(token: str) -> Appeal:
    return appeal_from_signed_link(token, STATUS_SALT)


def appeal_from_confirmation_token(token: str, *, for_update: bool = True) -> Appeal:
    """The appeal a confirmation link names, or InvalidToken, AppealExpired or AppealSuperseded."""
    max_age = current_app.config["APPEAL_CONFIRM_HOURS"] * 3600
    serializer = URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=CONFIRM_SALT)
    expired = False
    try:
        payload = serializer.loads(token, max_age=max_age)
    except SignatureExpired:
        payload, expired = serializer.loads(token), True  # genuine but late
    except BadSignature:
        raise InvalidToken() from None
    # Links sent before revisions existed name the appeal only: they stand for its first revision.
    if isinstance(payload, str):
        public_id, revision = payload, 1
    elif isinstance(payload, list) and len(payload) == 2:
        public_id, revision = payload
    else:
        raise InvalidToken()
    query = select(Appeal).where(Appeal.public_id == public_id, Appeal.state != "held")
    appeal = db.session.scalar(query.with_for_update() if for_update and not expired else query)
    if appeal is None:
        raise InvalidToken()
    if appeal.state == "confirmed":
        return appeal  # clicking the link again shows what was sent
    if revision != appeal.revision:
        raise AppealSuperseded()
    if expired:
        raise AppealExpired()
    return appeal


def appeal_to_confirm(token: str) -> Appeal:
    """What a confirmation link would send (the page shows it before the supporter presses the button)."""
    appeal = appeal_from_confirmation_token(token, for_update=False)
    if appeal.state not in ("unconfirmed", "confirmed") or (
        appeal.state == "unconfirmed" and appeal.expires_at and appeal.expires_at < utcnow()
    ):
        raise AppealExpired()
    return appeal


def public_url(endpoint: str, **values) -> str:
    """An absolute link for emails, on the configured public address (works in the worker and CLI too)."""
    base = urlsplit(current_app.config["PUBLIC_BASE_URL"])
    adapter = current_app.url_map.bind(base.netloc, script_name=base.path or "/", url_scheme=base.scheme)
    return adapter.build(endpoint, values, force_external=True)


UNSUBSCRIBE_SALT = "appeal-unsubscribe"


def unsubscribe_token(appeal: Appeal) -> str:
    return signed_link_token(appeal, UNSUBSCRIBE_SALT)
