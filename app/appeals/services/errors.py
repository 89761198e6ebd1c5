"""Why an appeal cannot go ahead: each error is shown to the supporter as a page of its own."""

from __future__ import annotations

from app.appeals.models import Appeal


class AppealError(Exception):
    """A reason an appeal cannot go ahead, shown to the supporter."""


class CaseClosed(AppealError):
    pass


class DuplicateAppeal(AppealError):
    def __init__(self, appeal: Appeal | None):
        super().__init__("duplicate appeal")
        self.appeal = appeal


class InvalidToken(AppealError):
    pass


class AppealExpired(AppealError):
    pass


class AppealSuperseded(AppealError):
    """A newer version of this appeal was written after this link was sent: only the latest link counts."""
