"""Staff downloads of the CSV exports, streamed from the database cursor to the browser."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator

from flask import Blueprint, Response, abort, stream_with_context
from flask_login import current_user

from app.exports import services
from app.extensions import db
from app.models_base import utcnow
from app.staff.auth import roles_required
from app.staff.forms import ActionForm

bp = Blueprint("exports", __name__, url_prefix="/admin/exports")

BYTE_ORDER_MARK = "\ufeff"
CHUNK_CHARS = 64 * 1024  # one write to the socket per ~64 KB instead of one per row; memory stays constant


def _in_chunks(lines: Iterable[str], size: int = CHUNK_CHARS) -> Iterator[str]:
    parts: list[str] = []
    length = 0
    for line in lines:
        parts.append(line)
        length += len(line)
        if length >= size:
            yield "".join(parts)
            parts, length = [], 0
    if parts:
        yield "".join(parts)


def _csv_download(name: str) -> Response:
    """The export as a file to save, produced while it is sent: the query runs as the body is read."""
    lines = services.export_lines(name)  # a generator: nothing is queried until the server reads the body
    # A byte-order mark first, so that spreadsheets open the file as UTF-8 (accents, Arabic names) rather than
    # guessing a legacy encoding; the CLI's output, read by scripts, has none.
    body = itertools.chain([BYTE_ORDER_MARK], _in_chunks(lines))
    response = Response(stream_with_context(body), content_type="text/csv; charset=utf-8")
    response.headers["Content-Disposition"] = f'attachment; filename="inkwell-{name}-{utcnow():%Y-%m-%d}.csv"'
    response.headers["Cache-Control"] = "no-store"  # no copy left in a browser's or a proxy's cache
    return response


# Admins only, like the dashboard that shows the same figures: moderators review messages of hope and have no
# need for campaign statistics, and a count per case, country and day is not anonymous when it is small (the
# one appeal from a small country on a given day can point to a known person).
@bp.get("/appeals.csv")
@roles_required("admin")
def appeal_counts():
    return _csv_download("appeals")


# Personal data: admins only, a POST with a CSRF token (no other site, link prefetcher or crawler can start it),
# and each download goes into the audit trail, committed before the first byte leaves.
@bp.post("/supporters.csv")
@roles_required("admin")
def supporters():
    if not ActionForm().validate_on_submit():
        abort(400)
    services.record_download(current_user, "supporters")
    db.session.commit()
    return _csv_download("supporters")
