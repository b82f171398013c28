"""Every feature's models, imported in one place so migrations see the whole schema."""

from mailer.auth.models import ApiToken, User
from mailer.contacts.models import (
    Contact,
    ContactList,
    ContactTag,
    ListMember,
    Segment,
    Suppression,
)
from mailer.outbox.models import OutboxMessage

__all__ = [
    "ApiToken",
    "Contact",
    "ContactList",
    "ContactTag",
    "ListMember",
    "OutboxMessage",
    "Segment",
    "Suppression",
    "User",
]
