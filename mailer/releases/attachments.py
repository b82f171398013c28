"""Files attached to a release: checked, named safely, and kept in the instance folder.

The type is decided by the file's first bytes (PDF, PNG, JPEG, GIF, WebP), never by the name or
the client's Content-Type. The name shown is sanitised (no path, no control or bidi characters,
an extension that matches the content); the file itself is stored as
``<instance>/attachments/<release id>/<random name>``, so no user input ever reaches a path.
Nothing is left on disk when an upload is refused.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import secrets
import shutil
import tempfile
import unicodedata
from pathlib import Path
from typing import IO

from flask import current_app
from flask_babel import gettext
from sqlalchemy import select

from mailer.auth.models import User
from mailer.db import db, utcnow
from mailer.errors import Invalid, NotFound, PayloadTooLarge
from mailer.releases.models import Attachment, Release

CHUNK = 64 * 1024
SNIFF_BYTES = 16
MAX_ATTACHMENTS = 20
MAX_NAME = 150

# Content type -> extensions it may carry, the first being the one added when missing.
EXTENSIONS: dict[str, tuple[str, ...]] = {
    "application/pdf": ("pdf",),
    "image/png": ("png",),
    "image/jpeg": ("jpg", "jpeg", "jpe"),
    "image/gif": ("gif",),
    "image/webp": ("webp",),
}
KNOWN_EXTENSIONS = frozenset(ext for exts in EXTENSIONS.values() for ext in exts)


def sniff_content_type(head: bytes) -> str | None:
    """The content type shown by a file's first bytes, if it is one we accept."""
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    return None


def sanitise_filename(name: str, content_type: str) -> str:
    """A display name safe anywhere: its last path part, printable, with a fitting extension."""
    text = unicodedata.normalize("NFC", name or "")
    text = text.replace("\\", "/").rsplit("/", 1)[-1]
    # Drop control and format characters: CR/LF, NUL, and bidi overrides ("gpj.exe").
    text = "".join(" " if unicodedata.category(ch)[0] == "Z" else ch for ch in text
                   if unicodedata.category(ch)[0] != "C")
    text = re.sub(r'[<>:"|?*;%]', "_", text)
    text = re.sub(r"\s+", " ", text).strip(" .").lstrip(".")
    stem, dot, ext = text.rpartition(".")
    if not dot:
        stem, ext = text, ""
    allowed = EXTENSIONS[content_type]
    if ext.lower() in allowed:
        ext = ext.lower()
    elif ext.lower() in KNOWN_EXTENSIONS:  # a PNG named .jpg: say what it really is
        ext = allowed[0]
    else:
        stem, ext = text, allowed[0]
    stem = stem.strip(" .") or "attachment"
    return f"{stem[:MAX_NAME - len(ext) - 1]}.{ext}"


def storage_root() -> Path:
    """Where attachment files live: ``<instance>/attachments``."""
    return Path(current_app.instance_path) / "attachments"


def release_folder(release_id: int) -> Path:
    """The folder of one release's files."""
    return storage_root() / str(int(release_id))


def file_path(attachment: Attachment) -> Path:
    """Where an attachment's bytes are."""
    return release_folder(attachment.release_id) / attachment.storage_name


def max_bytes() -> int:
    """The size limit of one file (MAILER_ATTACHMENT_MAX_BYTES)."""
    return int(current_app.config.get("MAILER_ATTACHMENT_MAX_BYTES", 10 * 1024 * 1024))


def human_size(size: int) -> str:
    """1.5 MB, 320 KB, 12 bytes."""
    if size >= 1024 * 1024:
        return f"{size / 1024 / 1024:.1f} MB".replace(".0 MB", " MB")
    if size >= 1024:
        return f"{size // 1024} KB"
    return f"{size} bytes"


def list_attachments(release_id: int) -> list[Attachment]:
    """A release's attachments, oldest first."""
    _release(release_id)
    return list(db.session.scalars(select(Attachment).where(Attachment.release_id == release_id)
                                   .order_by(Attachment.id)))


def get_attachment(release_id: int, attachment_id: int) -> Attachment:
    """One attachment of a release, or NotFound."""
    attachment = db.session.get(Attachment, attachment_id)
    if attachment is None or attachment.release_id != release_id:
        raise NotFound(gettext("No such attachment."))
    if not file_path(attachment).is_file():
        raise NotFound(gettext("The attachment's file is missing from the instance folder."))
    return attachment


def store_attachment(release_id: int, stream: IO[bytes], filename: str,
                     actor: User | None = None) -> Attachment:
    """Check and keep an uploaded file; 422 (413 when too large) and nothing written when it
    is refused."""
    release = _release(release_id)
    if len(release.attachments) >= MAX_ATTACHMENTS:
        raise Invalid(gettext("Too many attachments."), fields={"file": gettext(
            "a release may have at most %(n)s files", n=MAX_ATTACHMENTS)})
    limit = max_bytes()
    head = stream.read(SNIFF_BYTES)
    if not head:
        raise Invalid(gettext("The file is empty."), fields={"file": gettext("is empty")})
    content_type = sniff_content_type(head)
    if content_type is None:
        raise Invalid(gettext("This kind of file cannot be attached."),
                      fields={"file": gettext("must be a PDF, PNG, JPEG, GIF or WebP file "
                                              "(judged by its content, not its name)")})
    name = sanitise_filename(filename, content_type)
    folder = release_folder(release_id)
    made_folder = not folder.exists()
    folder.mkdir(parents=True, exist_ok=True)
    storage_name = secrets.token_hex(16)
    target = folder / storage_name
    fd, temp = tempfile.mkstemp(dir=folder, prefix=".upload-")
    try:
        digest, size = _copy_limited(stream, head, fd, limit)
        os.replace(temp, target)
    except BaseException:
        _discard(Path(temp), folder if made_folder else None)
        raise
    attachment = Attachment(release_id=release_id, filename=name, content_type=content_type,
                            size=size, sha256=digest, storage_name=storage_name,
                            uploaded_by_id=actor.id if actor else None, created_at=utcnow())
    db.session.add(attachment)
    try:
        db.session.commit()
    except BaseException:
        db.session.rollback()
        _discard(target, folder if made_folder else None)
        raise
    return attachment


def _copy_limited(stream: IO[bytes], head: bytes, fd: int, limit: int) -> tuple[str, int]:
    """Copy ``head`` then the rest of ``stream`` to ``fd``; 413 past ``limit`` bytes."""
    digest = hashlib.sha256()
    size = 0
    with os.fdopen(fd, "wb") as out:
        chunk = head
        while chunk:
            size += len(chunk)
            if size > limit:
                raise PayloadTooLarge(gettext("The file is too large."), fields={
                    "file": gettext("must be at most %(size)s", size=human_size(limit))})
            digest.update(chunk)
            out.write(chunk)
            chunk = stream.read(CHUNK)
    return digest.hexdigest(), size


def _discard(path: Path, folder: Path | None) -> None:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
    if folder is not None:
        with contextlib.suppress(OSError):  # not empty: another upload is under way
            folder.rmdir()


def delete_attachment(release_id: int, attachment_id: int) -> None:
    """Delete an attachment and its file."""
    attachment = db.session.get(Attachment, attachment_id)
    if attachment is None or attachment.release_id != release_id:
        raise NotFound(gettext("No such attachment."))
    path = file_path(attachment)
    db.session.delete(attachment)
    db.session.commit()
    with contextlib.suppress(FileNotFoundError):
        path.unlink()


def remove_release_folder(release_id: int) -> None:
    """Remove every file of a deleted release."""
    shutil.rmtree(release_folder(release_id), ignore_errors=True)


def _release(release_id: int) -> Release:
    release = db.session.get(Release, release_id)
    if release is None:
        raise NotFound(gettext("No such release."))
    return release
