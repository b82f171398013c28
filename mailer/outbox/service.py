"""The outbox: storing messages the ``outbox:`` transport keeps, reading and purging them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage

from flask_babel import gettext
from sqlalchemy import delete, select

from mailer.db import db, utcnow
from mailer.dispatch.transports import Envelope
from mailer.errors import NotFound
from mailer.outbox.models import OutboxMessage


def store_envelope(envelope: Envelope) -> int:
    """Keep one message in the outbox; returns its id. Committed before returning."""
    parsed = message_from_bytes(envelope.data, policy=policy.default)
    row = OutboxMessage(
        mail_from=envelope.mail_from,
        recipients=list(envelope.recipients),
        subject=str(parsed.get("Subject", "")),
        message_id=str(parsed.get("Message-ID", "")).strip(),
        data=envelope.data,
    )
    db.session.add(row)
    db.session.commit()
    return row.id


def recent_messages(limit: int = 100) -> list[OutboxMessage]:
    """The newest messages first."""
    query = select(OutboxMessage).order_by(OutboxMessage.id.desc()).limit(limit)
    return list(db.session.scalars(query))


def get_message(message_id: int) -> OutboxMessage:
    """One outbox message, or NotFound."""
    row = db.session.get(OutboxMessage, message_id)
    if row is None:
        raise NotFound(gettext("No such message in the outbox."))
    return row


@dataclass(frozen=True)
class MessageView:
    """What the outbox page shows of a message."""

    headers: list[tuple[str, str]]
    text: str | None
    html: str | None
    raw: str


def view_message(row: OutboxMessage) -> MessageView:
    """Decode a stored message into headers, its text and HTML parts, and the raw source."""
    parsed = message_from_bytes(row.data, _class=EmailMessage, policy=policy.default)
    text_part = parsed.get_body(preferencelist=("plain",))
    html_part = parsed.get_body(preferencelist=("html",))
    return MessageView(
        headers=[(name, str(value)) for name, value in parsed.items()],
        text=text_part.get_content() if isinstance(text_part, EmailMessage) else None,
        html=html_part.get_content() if isinstance(html_part, EmailMessage) else None,
        raw=row.data.decode("utf-8", errors="replace"),
    )


def purge_older_than(days: int) -> int:
    """Delete outbox messages older than ``days``; returns how many went."""
    cutoff = utcnow() - timedelta(days=days)
    result = db.session.execute(delete(OutboxMessage).where(OutboxMessage.created_at < cutoff))
    db.session.commit()
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
