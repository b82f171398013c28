"""REST API of the suppression list (API.md "Suppressions"); only admins remove entries."""

from __future__ import annotations

from flask import Blueprint, request
from flask.typing import ResponseReturnValue

from mailer.auth.models import Role
from mailer.auth.policy import requires
from mailer.contacts import suppressions
from mailer.contacts.serialise import suppression_json
from mailer.errors import Invalid
from mailer.http import json_body, page_params

bp = Blueprint("suppressions_api", __name__, url_prefix="/api/v1/suppressions")


@bp.get("")
def index() -> ResponseReturnValue:
    """A page of the list, newest first; ``q`` (address fragment) and ``reason`` filter it."""
    result = suppressions.list_suppressions(request.args.get("q", ""),
                                            request.args.get("reason", ""), *page_params())
    return result.as_json([suppression_json(row) for row in result.items])


@bp.post("")
def create() -> ResponseReturnValue:
    """Suppress ``{email, reason?, detail?, replace?}``: 201 when new, 200 when it already was
    (keeping its first reason unless ``replace`` is true)."""
    data = json_body()
    replace = data.get("replace", False)
    if not isinstance(replace, bool):
        raise Invalid("replace must be true or false.", fields={"replace": "must be a boolean"})
    added = suppressions.suppress(data.get("email"), data.get("reason"), data.get("detail", ""),
                                  replace=replace)
    return suppression_json(added.suppression), 201 if added.created else 200


@bp.delete("/<path:email>")
@requires(Role.ADMIN)
def delete(email: str) -> ResponseReturnValue:
    """Remove an address from the list (admins): 204; 404 when it is not there."""
    suppressions.unsuppress(email)
    return "", 204
