"""REST API of journalists (API.md "Contacts and lists"): contacts, export, privacy."""

from __future__ import annotations

from flask import Blueprint, Response, request, stream_with_context, url_for
from flask.typing import ResponseReturnValue

from mailer.auth.models import Role
from mailer.auth.policy import requires
from mailer.contacts import export, lists, privacy, service
from mailer.contacts.filtering import parse_listing_args
from mailer.contacts.models import ContactSource
from mailer.contacts.serialise import contact_json
from mailer.db import utcnow
from mailer.http import json_body, page_params

bp = Blueprint("contacts_api", __name__, url_prefix="/api/v1/contacts")


@bp.get("")
def index() -> ResponseReturnValue:
    """A page of contacts: ``q``, ``list_id``, ``language``, ``country``, ``outlet``, ``beat``,
    ``tag``, ``status`` (active|suppressed), ``sort``, ``order``, ``page``, ``per_page``."""
    spec, sort = parse_listing_args(request.args)
    page, per_page = page_params()
    result = service.list_contacts(spec, sort, page, per_page)
    return result.as_json([contact_json(view) for view in result.items])


@bp.post("")
def create() -> ResponseReturnValue:
    """Create a contact: 201 with it; 409 for a known address; 422 with every bad field."""
    contact = service.create_contact(json_body(), source=ContactSource.API)
    location = url_for("contacts_api.show", contact_id=contact.id)
    return contact_json(service.get_contact_view(contact.id)), 201, {"Location": location}


@bp.get("/<int:contact_id>")
def show(contact_id: int) -> ResponseReturnValue:
    """One contact."""
    return contact_json(service.get_contact_view(contact_id))


@bp.patch("/<int:contact_id>")
def update(contact_id: int) -> ResponseReturnValue:
    """Change the fields given, leave the others."""
    service.update_contact(contact_id, json_body())
    return contact_json(service.get_contact_view(contact_id))


@bp.delete("/<int:contact_id>")
def delete(contact_id: int) -> ResponseReturnValue:
    """Delete a contact (204); a suppression of its address stays."""
    service.delete_contact(contact_id)
    return "", 204


@bp.get("/export")
def export_csv() -> ResponseReturnValue:
    """The contacts (optionally one list's, or any listing filter) as spreadsheet-safe CSV."""
    spec, _ = parse_listing_args(request.args)
    list_name = lists.get_list(spec.list_ids[0]).name if spec.list_ids else None
    filename = export.export_filename(list_name, utcnow())
    return Response(stream_with_context(export.export_csv(spec)),
                    content_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


@bp.get("/<int:contact_id>/data")
def personal_data(contact_id: int) -> ResponseReturnValue:
    """Everything held about one contact (the right of access)."""
    return privacy.personal_data(contact_id)


@bp.post("/<int:contact_id>/erase")
@requires(Role.ADMIN)
def erase(contact_id: int) -> ResponseReturnValue:
    """Erase a contact; its address stays suppressed, as a hash only (admins)."""
    privacy.erase_contact(contact_id)
    return "", 204
