"""Files of the web import wizard, kept between its steps in the instance folder.

An upload is stored as ``<instance>/imports/<token>.csv`` with its state beside it in
``<token>.json`` (who uploaded it, its name, the chosen mapping, and at the end the report).
The token is 32 random bytes (``secrets.token_urlsafe``): unguessable, and kept only in the
uploader's signed session cookie; the state names the staff member, so a token is useless in
anyone else's session. The CSV is deleted as soon as it is imported or the wizard is
cancelled; whatever is older than ``MAX_AGE`` is removed whenever someone uploads a file.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, Any

from flask import current_app
from flask_babel import gettext

from mailer.errors import NotFound, PayloadTooLarge

MAX_AGE = 24 * 3600
TOKEN = re.compile(r"[A-Za-z0-9_-]{43}")
COPY_BLOCK = 1 << 20


@dataclass
class PendingImport:
    """The state of one wizard run."""

    token: str
    user_id: int
    filename: str
    created: float
    mapping: list[str | None] | None = None
    report: dict[str, Any] | None = field(default=None, repr=False)


def folder() -> Path:
    """``<instance>/imports``, created private to the service's user."""
    path = Path(current_app.instance_path) / "imports"
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path


def csv_path(pending: PendingImport) -> Path:
    """Where the uploaded file of ``pending`` is kept."""
    return folder() / f"{pending.token}.csv"


def store_upload(stream: IO[bytes], filename: str, user_id: int,
                 max_bytes: int) -> PendingImport:
    """Keep an uploaded file for the next steps; refuse it once past ``max_bytes``."""
    purge_stale()
    pending = PendingImport(secrets.token_urlsafe(32), user_id, filename, time.time())
    target = csv_path(pending)
    written = 0
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        while block := stream.read(COPY_BLOCK):
            written += len(block)
            if written > max_bytes:
                out.close()
                target.unlink(missing_ok=True)
                raise PayloadTooLarge(
                    gettext("The file is bigger than the limit of %(limit).1f MB.",
                            limit=max_bytes / 1_000_000),
                    fields={"file": gettext("too large")})
            out.write(block)
    save(pending)
    return pending


def save(pending: PendingImport) -> None:
    """Write the state of a wizard run."""
    state = folder() / f"{pending.token}.json"
    state.write_text(json.dumps(asdict(pending), ensure_ascii=False), encoding="utf-8")
    state.chmod(0o600)


def load(token: object, user_id: int) -> PendingImport:
    """The wizard run of ``token`` if it belongs to ``user_id`` and has not expired."""
    if not isinstance(token, str) or not TOKEN.fullmatch(token):
        raise NotFound(gettext("There is no import in progress. Upload a file to start one."))
    state = folder() / f"{token}.json"
    try:
        data = json.loads(state.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise NotFound(gettext("This import has expired. Upload the file again.")) from exc
    pending = PendingImport(**data)
    if pending.user_id != user_id or time.time() - pending.created > MAX_AGE:
        raise NotFound(gettext("This import has expired. Upload the file again."))
    return pending


def finish(pending: PendingImport, report: dict[str, Any]) -> None:
    """Keep the report of a finished run and delete its file."""
    pending.report = report
    save(pending)
    csv_path(pending).unlink(missing_ok=True)


def discard(pending: PendingImport) -> None:
    """Delete everything of a wizard run."""
    csv_path(pending).unlink(missing_ok=True)
    (folder() / f"{pending.token}.json").unlink(missing_ok=True)


def purge_stale(now: float | None = None) -> int:
    """Delete the files of wizard runs older than ``MAX_AGE``; returns how many went."""
    cutoff = (time.time() if now is None else now) - MAX_AGE
    removed = 0
    for path in folder().iterdir():
        try:
            if path.stat().st_mtime < cutoff:
                if path.is_dir():
                    shutil.rmtree(path)
                else:
                    path.unlink()
                removed += 1
        except FileNotFoundError:
            continue  # removed by a concurrent purge
    return removed
