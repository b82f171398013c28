"""REST API of releases (shared/API.md, "Releases"), plus approvals, history and attachments."""

from __future__ import annotations

from flask import Blueprint, request, send_file
from flask.typing import ResponseReturnValue

from mailer.auth.policy import current_staff
from mailer.errors import Invalid
from mailer.http import is_id, json_body, paged
from mailer.releases import attachments, preview, service
from mailer.releases.models import Attachment
from mailer.releases.serialise import (
    attachment_json,
    release_json,
    revision_json,
    translation_json,
)
from mailer.releases.validation import (
    TranslationInput,
    release_from_json,
    translation_from_payload,
)

bp = Blueprint("releases_api", __name__, url_prefix="/api/v1/releases")


@bp.post("")
def create_release() -> ResponseReturnValue:
    """Create a release: ``{title, default_language, embargo_at?, translations: {...}}``."""
    data = release_from_json(json_body(), partial=False)
    release = service.create_release(data, current_staff())
    return release_json(release), 201, {"Location": f"/api/v1/releases/{release.id}"}


@bp.get("")
def list_releases() -> ResponseReturnValue:
    """A page of releases, newest first; ``q`` searches titles and subjects."""
    return paged(service.releases_query(request.args.get("q")), release_json)


@bp.get("/<int:release_id>")
def get_release(release_id: int) -> ResponseReturnValue:
    """One release with its translations."""
    return release_json(service.get_release(release_id))


@bp.patch("/<int:release_id>")
def update_release(release_id: int) -> ResponseReturnValue:
    """Change fields; ``translations`` adds or edits those given, ``null`` deletes one."""
    data = release_from_json(json_body(), partial=True)
    return release_json(service.update_release(release_id, data, current_staff()))


@bp.delete("/<int:release_id>")
def delete_release(release_id: int) -> ResponseReturnValue:
    """Delete a release, its translations, history and files."""
    service.delete_release(release_id)
    return "", 204


def _translation_body() -> tuple[TranslationInput, int | None]:
    data = json_body()
    base = data.get("base_revision")
    if base is not None and (not isinstance(base, int) or isinstance(base, bool)):
        raise Invalid("base_revision must be a whole number.",
                      fields={"base_revision": "must be a whole number"})
    return translation_from_payload(data), base


@bp.put("/<int:release_id>/translations/<language>")
def put_translation(release_id: int, language: str) -> ResponseReturnValue:
    """Create or replace one translation: ``{subject, preheader, body, base_revision?}``."""
    fields, base = _translation_body()
    translation, created = service.save_translation(release_id, language, fields,
                                                    current_staff(), base_revision=base)
    return translation_json(translation), 201 if created else 200


@bp.get("/<int:release_id>/translations/<language>")
def get_translation(release_id: int, language: str) -> ResponseReturnValue:
    """One translation."""
    return translation_json(service.get_translation(release_id, language))


@bp.delete("/<int:release_id>/translations/<language>")
def delete_translation(release_id: int, language: str) -> ResponseReturnValue:
    """Delete one translation (the default-language one only when it is the last)."""
    service.delete_translation(release_id, language)
    return "", 204


@bp.post("/<int:release_id>/translations/<language>/approve")
def approve_translation(release_id: int, language: str) -> ResponseReturnValue:
    """Approve a translation as it stands (it is then no longer stale)."""
    return translation_json(service.approve_translation(release_id, language, current_staff()))


@bp.post("/<int:release_id>/translations/<language>/unapprove")
def unapprove_translation(release_id: int, language: str) -> ResponseReturnValue:
    """Send a translation back to draft."""
    return translation_json(service.unapprove_translation(release_id, language))


@bp.get("/<int:release_id>/translations/<language>/revisions")
def list_revisions(release_id: int, language: str) -> ResponseReturnValue:
    """A translation's history, newest first: ``{items: [{number, author, summary, …}]}``."""
    revisions = service.list_revisions(release_id, language)
    return {"items": [revision_json(r, with_text=False) for r in revisions],
            "total": len(revisions)}


@bp.get("/<int:release_id>/translations/<language>/revisions/<int:number>")
def get_revision(release_id: int, language: str, number: int) -> ResponseReturnValue:
    """One revision with its text."""
    return revision_json(service.get_revision(release_id, language, number))


@bp.post("/<int:release_id>/translations/<language>/revisions/<int:number>/revert")
def revert_translation(release_id: int, language: str, number: int) -> ResponseReturnValue:
    """Restore a revision's text, as a new revision; answers the translation."""
    return translation_json(service.revert_translation(release_id, language, number,
                                                       current_staff()))


@bp.get("/<int:release_id>/preview")
def preview_release(release_id: int) -> ResponseReturnValue:
    """``{language, subject, html, text, headers}`` exactly as it would be sent."""
    contact_id = _optional_int("contact_id")
    result = preview.preview_message(release_id, request.args.get("language") or None,
                                     contact_id)
    return preview.preview_json(result)


def _optional_int(name: str) -> int | None:
    raw = request.args.get(name)
    if raw in (None, ""):
        return None
    try:
        value = int(raw)
    except ValueError as exc:
        raise Invalid(f"{name} must be a whole number.",
                      fields={name: "must be a whole number"}) from exc
    if not is_id(value):
        raise Invalid(f"{name} must be an id.", fields={name: "must be an id"})
    return value


@bp.get("/<int:release_id>/attachments")
def list_attachments(release_id: int) -> ResponseReturnValue:
    """A release's attachments."""
    items = [attachment_json(a) for a in attachments.list_attachments(release_id)]
    return {"items": items, "total": len(items)}


@bp.post("/<int:release_id>/attachments")
def upload_attachment(release_id: int) -> ResponseReturnValue:
    """Attach a file (multipart field ``file``): PDF, PNG, JPEG, GIF or WebP."""
    upload = request.files.get("file")
    if upload is None:
        raise Invalid("Send the file as multipart/form-data, field 'file'.",
                      fields={"file": "required"})
    attachment = attachments.store_attachment(release_id, upload.stream,
                                              upload.filename or "", current_staff())
    return attachment_json(attachment), 201


@bp.get("/<int:release_id>/attachments/<int:attachment_id>")
def download_attachment(release_id: int, attachment_id: int) -> ResponseReturnValue:
    """The file itself, as a download."""
    return attachment_response(attachments.get_attachment(release_id, attachment_id))


@bp.delete("/<int:release_id>/attachments/<int:attachment_id>")
def delete_attachment(release_id: int, attachment_id: int) -> ResponseReturnValue:
    """Delete an attachment."""
    attachments.delete_attachment(release_id, attachment_id)
    return "", 204


def attachment_response(attachment: Attachment) -> ResponseReturnValue:
    """An attachment as a download with its checked type, never rendered inline."""
    response = send_file(attachments.file_path(attachment), mimetype=attachment.content_type,
                         as_attachment=True, download_name=attachment.filename,
                         etag=attachment.sha256, conditional=True, max_age=0)
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response
