"""Words for the codes stored on letters, decisions and outgoing mail, as moderators read them."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

FLAG_LABELS = {
    # Translators: automatic flags on a message of hope, shown to moderators.
    "link": _l("link"),
    "email": _l("email address"),
    "phone": _l("phone number"),
    "address": _l("street address"),
    "surname": _l("full name"),
    "blocklist": _l("blocked word"),
    "repeated": _l("repeated text"),
    "long": _l("unusually long"),
    "automated": _l("looks automated"),
}

STATE_LABELS = {
    "pending": _l("waiting"),
    "approved": _l("approved"),
    "rejected": _l("rejected"),
}

ACTION_LABELS = {
    "approve": _l("approved"),
    "reject": _l("rejected"),
    "redact": _l("edited before approval"),
}

# Translators: the delivery state of a bundle's email.
DELIVERY_LABELS = {
    "pending": _l("pending"),
    "sending": _l("sending"),
    "sent": _l("sent"),
    "retry": _l("will retry"),
    "failed": _l("failed"),
}


def label(labels: dict, code: str | None) -> str:
    """The words for `code`, or the code itself for one added later without words yet."""
    return str(labels.get(code, code or ""))


# The state of a bundle of messages of hope on the forwarding page.
BUNDLE_STATE_LABELS = {
    # Translators: the state of a bundle (of messages of hope) whose PDF the mail worker is still making.
    "rendering": _l("being prepared"),
    # Translators: the state of a bundle (of messages of hope) whose PDF is made.
    "ready": _l("ready"),
    # Translators: the state of a bundle (of messages of hope) whose PDF could not be made.
    "failed": _l("failed"),
}

BUNDLE_FAILURE_LABELS = {
    "contact_refused": _l(
        "The case’s contact address cannot receive email. Correct it in the case’s settings, then try again."
    ),
    "render_error": _l("The PDF could not be built."),
    "worker_stopped": _l("Building the PDF stopped the mail worker every time it was tried."),
}
