"""Every feature's models, imported in one place so migrations see the whole schema."""

from mailer.audit.models import AuditEvent
from mailer.auth.models import ApiToken, User
from mailer.contacts.models import (
    Contact,
    ContactList,
    ContactTag,
    ListMember,
    Segment,
    Suppression,
)
from mailer.dispatch.models import Delivery, Mailing, RateLimitState
from mailer.outbox.models import OutboxMessage
from mailer.releases.models import Attachment, Release, Translation, TranslationRevision
from mailer.settings.models import Setting
from mailer.tracking.models import (
    Bounce,
    BounceScore,
    ContactPreference,
    DeliveryEngagement,
    ListOptOut,
    TrackedLink,
    TrackingEvent,
)

__all__ = [
    "ApiToken",
    "Attachment",
    "AuditEvent",
    "Bounce",
    "BounceScore",
    "Contact",
    "ContactList",
    "ContactPreference",
    "ContactTag",
    "Delivery",
    "DeliveryEngagement",
    "ListMember",
    "ListOptOut",
    "Mailing",
    "OutboxMessage",
    "RateLimitState",
    "Release",
    "Segment",
    "Setting",
    "Suppression",
    "TrackedLink",
    "TrackingEvent",
    "Translation",
    "TranslationRevision",
    "User",
]
