"""Messages kept by the ``outbox:`` transport instead of being sent."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from mailer.db import Base, UtcDateTime, utcnow


class OutboxMessage(Base):
    """One message as it would have gone over SMTP: envelope and exact bytes."""

    __tablename__ = "outbox_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    mail_from: Mapped[str] = mapped_column(String(998))
    recipients: Mapped[list[str]] = mapped_column(JSON)
    subject: Mapped[str] = mapped_column(Text, default="")
    message_id: Mapped[str] = mapped_column(String(998), default="", index=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow, index=True)
