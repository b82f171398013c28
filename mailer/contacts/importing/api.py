"""REST API of the CSV import: ``POST /api/v1/contacts/import`` (editors and up, by method)."""

from __future__ import annotations

from flask import Blueprint, request
from flask.typing import ResponseReturnValue

from mailer.contacts.importing import service
from mailer.errors import BadRequest, Invalid
from mailer.http import is_id

bp = Blueprint("contacts_import_api", __name__, url_prefix="/api/v1/contacts")

_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"", "0", "false", "no", "off"})


@bp.post("/import")
def import_contacts() -> ResponseReturnValue:
    """Import a CSV (multipart ``file``, optional ``list_id``, ``update_existing``) → the report."""
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise BadRequest("Send the CSV file as the multipart/form-data field `file`.",
                         fields={"file": "required"})
    options = service.ImportOptions(filename=upload.filename, list_id=_list_id(),
                                    update_existing=_flag("update_existing"))
    report = service.import_contacts(upload.stream, options)
    return report.as_dict(), 200


def _list_id() -> int | None:
    raw = request.form.get("list_id", "").strip()
    if not raw:
        return None
    if not raw.isdecimal() or not is_id(int(raw)):
        raise Invalid("list_id must be the id of a list.", fields={"list_id": "not a list id"})
    return int(raw)


def _flag(name: str) -> bool:
    raw = request.form.get(name, "").strip().lower()
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    raise Invalid(f"{name} must be true or false.", fields={name: "must be true or false"})
