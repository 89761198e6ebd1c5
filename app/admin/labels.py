"""Words for the actions recorded in the admins' audit trail, as staff read them in their language."""

from __future__ import annotations

import re

from flask_babel import lazy_gettext as _l

from app.i18n import language_name

ACTION_LABELS = {
    # Translators: what an admin did, in the list of changes by admins.
    "create case": _l("created the case"),
    "edit case": _l("changed the case's settings"),
    "edit target": _l("changed a target"),
    "remove target": _l("removed a target"),
    "edit timeline": _l("changed the timeline"),
    "remove timeline entry": _l("removed a timeline entry"),
    "announce to supporters": _l("asked for the supporters to be told"),
    "pause target": _l("paused sending to a target"),
    "resume target": _l("resumed sending to a target"),
    "retry delivery": _l("queued failed messages again"),
    "purge personal data": _l("erased what the retention period made due"),
    "erase a supporter's data": _l("erased a supporter's data on request"),
    "download supporters export": _l("downloaded the supporters' export"),
    "enter paper report": _l("entered a report of letters written on paper"),
    "approve paper report": _l("approved a report of letters written on paper"),
    "reject paper report": _l("rejected a report of letters written on paper"),
}
_CONTENT = re.compile(r"^edit case content \((?P<locale>[\w-]+)\)$")


def action_label(action: str) -> str:
    """The words for an audit trail action, or the recorded text itself for one without words yet."""
    if action in ACTION_LABELS:
        return str(ACTION_LABELS[action])
    match = _CONTENT.match(action)
    if match:
        return str(_l("changed the content in %(language)s", language=language_name(match["locale"])))
    return action
