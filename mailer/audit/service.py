"""Recording and reading the audit log. Append-only: nothing here updates or deletes a row.

Services call :func:`record` for every action an admin may later need to account for (sending,
pausing, cancelling mailings; importing, exporting, erasing contacts; staff accounts and tokens).
The event joins the caller's transaction, so it is committed with the change it describes.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

from flask import has_request_context, request
from sqlalchemy import Select, func, select

from mailer.audit.models import AuditEvent
from mailer.db import db, utcnow


def _actor() -> tuple[int | None, str]:
    from mailer.auth.policy import current_staff

    if not has_request_context():
        return None, "system"
    user = current_staff()
    return (user.id, user.email) if user is not None else (None, "")


def client_ip() -> str:
    """The address of the client of this request ('' outside a request)."""
    if not has_request_context():
        return ""
    return (request.remote_addr or "")[:45]


def record(action: str, *, target_type: str = "", target_id: object = "", summary: str = "",
           details: dict[str, Any] | None = None, actor_email: str | None = None,
           commit: bool = False) -> AuditEvent:
    """Add one event to the log (in the current transaction unless ``commit``)."""
    actor_id, email = _actor()
    event = AuditEvent(
        actor_id=actor_id,
        actor_email=actor_email if actor_email is not None else email,
        action=action,
        target_type=target_type,
        target_id=str(target_id) if target_id != "" else "",
        summary=summary[:2000],
        details=details or {},
        ip=client_ip(),
    )
    db.session.add(event)
    if commit:
        db.session.commit()
    return event


def events_query(*, action: str | None = None, target_type: str | None = None,
                 target_id: str | None = None, actor: str | None = None) -> Select[Any]:
    """Events, newest first, optionally filtered."""
    query = select(AuditEvent).order_by(AuditEvent.id.desc())
    if action:
        query = query.where(AuditEvent.action.startswith(action))
    if target_type:
        query = query.where(AuditEvent.target_type == target_type)
    if target_id:
        query = query.where(AuditEvent.target_id == target_id)
    if actor:
        query = query.where(func.lower(AuditEvent.actor_email) == actor.strip().lower())
    return query


def iter_events(query: Select[Any]) -> Iterator[AuditEvent]:
    """Stream events for export without loading them all."""
    yield from db.session.scalars(query.execution_options(yield_per=1000))


def count_recent(action: str, *, since: timedelta, actor_email: str | None = None,
                 ip: str | None = None) -> int:
    """How many ``action`` events happened within ``since``, for an address or a client."""
    cutoff: datetime = utcnow() - since
    query = select(func.count(AuditEvent.id)).where(AuditEvent.action == action,
                                                     AuditEvent.at >= cutoff)
    if actor_email is not None:
        query = query.where(AuditEvent.actor_email == actor_email)
    if ip is not None:
        query = query.where(AuditEvent.ip == ip)
    return db.session.scalar(query) or 0
