"""Helpers of the import tests: CSV bytes in any encoding, table counts, the API call."""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from werkzeug.test import TestResponse

from tests.conftest import bearer

HEADER = ["email", "first_name", "last_name", "outlet", "beat", "country", "language",
          "timezone", "tags"]
REPO = Path(__file__).resolve().parents[3]
SHARED = REPO.parent / "shared"

BOMS = {"utf-8-sig": b"", "utf-16-le": codecs.BOM_UTF16_LE, "utf-16-be": codecs.BOM_UTF16_BE}


def csv_text(rows: Sequence[Sequence[str]], header: Sequence[str] = HEADER,
             delimiter: str = ",") -> str:
    """A CSV document as text, header first, with CRLF line ends as Excel writes them."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def csv_bytes(rows: Sequence[Sequence[str]], header: Sequence[str] = HEADER,
              delimiter: str = ",", encoding: str = "utf-8") -> bytes:
    """The same, encoded (``utf-8-sig``, ``utf-16-le`` and ``utf-16-be`` carry a BOM)."""
    return BOMS.get(encoding, b"") + csv_text(rows, header, delimiter).encode(encoding)


def row(email: str, first: str = "Anna", last: str = "Ivanova", outlet: str = "Daily Example",
        beat: str = "politics", country: str = "KZ", language: str = "ru",
        timezone: str = "Asia/Almaty", tags: str = "tv;print") -> list[str]:
    """One data row in HEADER order."""
    return [email, first, last, outlet, beat, country, language, timezone, tags]


def counts(app: Flask) -> dict[str, int]:
    """Rows in every table an import writes."""
    from mailer.contacts.models import Contact, ContactList, ContactTag, ListMember, Suppression
    from mailer.db import db

    with app.app_context():
        return {model.__tablename__: db.session.scalar(select(func.count()).select_from(model))
                or 0 for model in (Contact, ContactTag, ListMember, ContactList, Suppression)}


def contacts(app: Flask) -> dict[str, dict[str, Any]]:
    """Every contact by address: its columns plus ``tags`` and ``lists`` (ids)."""
    from mailer.contacts.models import Contact, ListMember
    from mailer.db import db

    with app.app_context():
        found: dict[str, dict[str, Any]] = {}
        for contact in db.session.scalars(select(Contact)):
            values = {c.name: getattr(contact, c.name) for c in Contact.__table__.columns}
            values["tags"] = contact.tags
            values["lists"] = sorted(db.session.scalars(
                select(ListMember.list_id).where(ListMember.contact_id == contact.id)))
            found[contact.email] = values
        return found


def post_csv(client: FlaskClient, token: str, data: bytes, filename: str = "contacts.csv",
             **form: str) -> TestResponse:
    """``POST /api/v1/contacts/import`` with ``data`` as the file."""
    return client.post("/api/v1/contacts/import", headers=bearer(token),
                       data={"file": (io.BytesIO(data), filename), **form},
                       content_type="multipart/form-data")


def errors_by_row(report: dict[str, Any]) -> dict[int, dict[str, str]]:
    """The report's errors as ``{row: {field: message}}``."""
    found: dict[int, dict[str, str]] = {}
    for error in report["errors"]:
        found.setdefault(error["row"], {})[error["field"]] = error["message"]
    return found
