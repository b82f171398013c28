"""The JSON shapes of contacts, lists, segments and suppressions (API.md names, then ours)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from mailer.contacts.lists import ListView
from mailer.contacts.models import Contact, Segment, Suppression, SuppressionReason
from mailer.contacts.segments import SegmentPreview
from mailer.contacts.service import ContactView


def _time(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def contact_fields(contact: Contact) -> dict[str, Any]:
    """A contact's own fields, API.md's first."""
    return {
        "id": contact.id,
        "email": contact.email,
        "first_name": contact.first_name,
        "last_name": contact.last_name,
        "outlet": contact.outlet,
        "beat": contact.beat,
        "country": contact.country,
        "language": contact.language,
        "timezone": contact.timezone,
        "tags": contact.tags,
        "role": contact.role,
        "languages": list(contact.languages or []),
        "phone": contact.phone,
        "social": dict(contact.social or {}),
        "notes": contact.notes,
        "tracking": contact.tracking,
        "source": contact.source,
        "source_detail": contact.source_detail,
        "created_at": _time(contact.created_at),
        "updated_at": _time(contact.updated_at),
    }


def contact_json(view: ContactView) -> dict[str, Any]:
    """A contact as the API shows it: its fields, its address's status and its list ids."""
    return {**contact_fields(view.contact),
            "status": "suppressed" if view.suppressed else "active",
            "lists": view.list_ids}


def list_json(view: ListView) -> dict[str, Any]:
    """A list with ``id`` and ``member_count``."""
    row = view.contact_list
    return {"id": row.id, "name": row.name, "description": row.description,
            "member_count": view.member_count, "created_at": _time(row.created_at),
            "updated_at": _time(row.updated_at)}


def segment_json(segment: Segment) -> dict[str, Any]:
    """A saved segment and its filters."""
    return {"id": segment.id, "name": segment.name, "description": segment.description,
            "filters": dict(segment.filters or {}), "created_at": _time(segment.created_at),
            "updated_at": _time(segment.updated_at)}


def preview_json(preview: SegmentPreview) -> dict[str, Any]:
    """A segment's count now, how many may be mailed, and its first contacts (brief form)."""
    return {"count": preview.count, "mailable": preview.mailable,
            "sample": [{"id": c.id, "email": c.email, "first_name": c.first_name,
                        "last_name": c.last_name, "outlet": c.outlet, "language": c.language}
                       for c in preview.sample]}


def suppression_json(row: Suppression) -> dict[str, Any]:
    """One suppression entry (``email`` is empty for erased contacts: hash only)."""
    return {"id": row.id, "email": row.email, "reason": row.reason, "detail": row.detail,
            "erased": row.reason == SuppressionReason.ERASED,
            "created_at": _time(row.created_at)}
