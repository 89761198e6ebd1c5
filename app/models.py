"""Every feature's models in one import, so that migrations and relationships see them all."""

from app.appeals.models import Appeal, DigestEntry  # noqa: F401
from app.cases.models import (  # noqa: F401
    ActionCounter,
    Case,
    CaseTranslation,
    CaseUpdate,
    CaseUpdateTranslation,
    Target,
    TargetAddress,
)
from app.mail.models import OutboundMessage  # noqa: F401
from app.moderation.models import Bundle, ModerationEvent  # noqa: F401
from app.offline.models import PaperReport  # noqa: F401
from app.privacy.models import ErasureRecord  # noqa: F401
from app.solidarity.models import SolidarityLetter  # noqa: F401
from app.staff.models import AdminEvent, User  # noqa: F401
