"""Appeals to the authorities, as services the views, the CLI and other features call.

One module per job: `tokens` (the links in emails), `submission` (writing and confirming), `digests` (daily
digests), `status` (what became of a letter), `erasure` (privacy), `announcements` (news for supporters). Callers
import this package; the names below are its public interface.
"""

from app.appeals.services.announcements import (
    ANNOUNCE_BATCH,
    notify_supporters,
    request_announcement,
    send_due_announcements,
    unsubscribe,
)
from app.appeals.services.digests import (
    appeals_await_digest,
    build_due_digests,
    digest_email,
    split_refused_digests,
)
from app.appeals.services.erasure import WITHDRAWN, erase_appeals
from app.appeals.services.errors import (
    AppealError,
    AppealExpired,
    AppealSuperseded,
    CaseClosed,
    DuplicateAppeal,
    InvalidToken,
)
from app.appeals.services.status import DeliveryLine, delivery_status
from app.appeals.services.submission import (
    AppealInput,
    Submission,
    appeal_draft,
    authority_email,
    confirm_appeal,
    expire_unconfirmed,
    letter_languages,
    notify_duplicate,
    submit_appeal,
)
from app.appeals.services.tokens import (
    appeal_from_status_token,
    appeal_to_confirm,
    confirmation_token,
    public_url,
    status_token,
    unsubscribe_token,
)

__all__ = [
    "ANNOUNCE_BATCH",
    "WITHDRAWN",
    "AppealError",
    "AppealExpired",
    "AppealInput",
    "AppealSuperseded",
    "CaseClosed",
    "DeliveryLine",
    "DuplicateAppeal",
    "InvalidToken",
    "Submission",
    "appeal_draft",
    "appeals_await_digest",
    "appeal_from_status_token",
    "appeal_to_confirm",
    "authority_email",
    "build_due_digests",
    "confirm_appeal",
    "confirmation_token",
    "delivery_status",
    "digest_email",
    "erase_appeals",
    "expire_unconfirmed",
    "letter_languages",
    "notify_duplicate",
    "notify_supporters",
    "public_url",
    "request_announcement",
    "send_due_announcements",
    "split_refused_digests",
    "status_token",
    "submit_appeal",
    "unsubscribe",
    "unsubscribe_token",
]
