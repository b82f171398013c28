"""The JSON shapes of releases, translations, revisions and attachments (REST API v1)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from mailer.releases.models import Attachment, Release, Translation, TranslationRevision


def iso(moment: datetime | None) -> str | None:
    """ISO 8601 with an offset, or None."""
    return moment.isoformat() if moment else None


def translation_json(translation: Translation) -> dict[str, Any]:
    """One translation, with its status, stale flag and edit times."""
    return {
        "language": translation.language,
        "subject": translation.subject,
        "preheader": translation.preheader,
        "body": translation.body,
        "status": translation.status_enum.value,
        "stale": translation.stale,
        "default": translation.is_default,
        "revision": translation.revision,
        "edited_at": iso(translation.edited_at),
        "edited_by": translation.edited_by.email if translation.edited_by else None,
        "approved_at": iso(translation.approved_at),
        "approved_by": translation.approved_by.email if translation.approved_by else None,
    }


def attachment_json(attachment: Attachment) -> dict[str, Any]:
    """One attachment's metadata (the bytes are at its download address)."""
    return {
        "id": attachment.id,
        "filename": attachment.filename,
        "content_type": attachment.content_type,
        "size": attachment.size,
        "sha256": attachment.sha256,
        "created_at": iso(attachment.created_at),
        "url": f"/api/v1/releases/{attachment.release_id}/attachments/{attachment.id}",
    }


def release_json(release: Release) -> dict[str, Any]:
    """A release with its translations (keyed by language, as in the request) and files."""
    return {
        "id": release.id,
        "title": release.title,
        "default_language": release.default_language,
        "embargo_at": iso(release.embargo_at),
        "contact_block": release.contact_block,
        "approvals_required": release.approvals_required,
        "languages": release.languages,
        "translations": {t.language: translation_json(t) for t in release.translations},
        "attachments": [attachment_json(a) for a in release.attachments],
        "created_by": release.created_by.email if release.created_by else None,
        "created_at": iso(release.created_at),
        "updated_at": iso(release.updated_at),
    }


def revision_json(revision: TranslationRevision, *, with_text: bool = True) -> dict[str, Any]:
    """One revision: number, who, when, what changed, and (by default) the text."""
    data: dict[str, Any] = {
        "number": revision.number,
        "author": revision.author_email or None,
        "created_at": iso(revision.created_at),
        "summary": revision.summary,
    }
    if with_text:
        data.update(subject=revision.subject, preheader=revision.preheader, body=revision.body)
    return data
