"""REST API of static lists and their members (API.md "Contacts and lists")."""

from __future__ import annotations

from flask import Blueprint, url_for
from flask.typing import ResponseReturnValue

from mailer.contacts import lists
from mailer.contacts.serialise import list_json
from mailer.http import json_body, page_params

bp = Blueprint("lists_api", __name__, url_prefix="/api/v1/lists")


@bp.get("")
def index() -> ResponseReturnValue:
    """A page of lists by name, each with ``member_count``."""
    result = lists.list_lists(*page_params())
    return result.as_json([list_json(view) for view in result.items])


@bp.post("")
def create() -> ResponseReturnValue:
    """Create a list ``{name, description}``: 201; 409 when the name is taken."""
    row = lists.create_list(json_body())
    return list_json(lists.get_list_view(row.id)), 201, \
        {"Location": url_for("lists_api.show", list_id=row.id)}


@bp.get("/<int:list_id>")
def show(list_id: int) -> ResponseReturnValue:
    """One list with its member count."""
    return list_json(lists.get_list_view(list_id))


@bp.patch("/<int:list_id>")
def update(list_id: int) -> ResponseReturnValue:
    """Rename a list or change its description."""
    lists.update_list(list_id, json_body())
    return list_json(lists.get_list_view(list_id))


@bp.delete("/<int:list_id>")
def delete(list_id: int) -> ResponseReturnValue:
    """Delete a list (its contacts stay): 204; 409 while a segment uses it."""
    lists.delete_list(list_id)
    return "", 204


@bp.post("/<int:list_id>/members")
def add_members(list_id: int) -> ResponseReturnValue:
    """Add ``{contact_ids: [...]}``: ``{added: N}`` counts only new memberships."""
    return {"added": lists.add_members(list_id, json_body().get("contact_ids"))}


@bp.delete("/<int:list_id>/members/<int:contact_id>")
def remove_member(list_id: int, contact_id: int) -> ResponseReturnValue:
    """Take one contact off the list: 204."""
    lists.remove_member(list_id, contact_id)
    return "", 204
