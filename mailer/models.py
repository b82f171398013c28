"""Every feature's models, imported in one place so migrations see the whole schema."""

from mailer.auth.models import ApiToken, User
from mailer.outbox.models import OutboxMessage

__all__ = ["ApiToken", "OutboxMessage", "User"]
