"""Request and response plumbing shared by every REST API view: JSON bodies and paging."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from flask import request
from sqlalchemy import Select, func, select

from mailer.db import db
from mailer.errors import BadRequest, Invalid

T = TypeVar("T")
MAX_PER_PAGE = 500


def json_body() -> dict[str, Any]:
    """The request's JSON object; 400 when it is missing, malformed or not an object."""
    if not request.is_json:
        raise BadRequest("Send a JSON body with Content-Type: application/json.")
    data = request.get_json(silent=True)
    if data is None:
        raise BadRequest("The request body is not valid JSON.")
    if not isinstance(data, dict):
        raise BadRequest("The request body must be a JSON object.")
    return data


def page_params() -> tuple[int, int]:
    """``page`` and ``per_page`` from the query string, validated (422 with fields)."""
    errors: dict[str, str] = {}
    values: dict[str, int] = {}
    for name, default, upper in (("page", 1, None), ("per_page", 50, MAX_PER_PAGE)):
        raw = request.args.get(name, str(default))
        try:
            value = int(raw)
        except ValueError:
            errors[name] = "must be a whole number"
            continue
        if value < 1 or (upper is not None and value > upper):
            errors[name] = f"must be between 1 and {upper}" if upper else "must be at least 1"
        values[name] = value
    if errors:
        raise Invalid("Invalid paging parameters.", fields=errors)
    return values["page"], values["per_page"]


def paged(query: Select[Any], serialise: Callable[[T], dict[str, Any]]) -> dict[str, Any]:
    """Run ``query`` for the requested page: ``{items, total, page, per_page}`` (API.md)."""
    page, per_page = page_params()
    total = db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    window = query.limit(per_page).offset((page - 1) * per_page)
    rows: Sequence[Any] = db.session.scalars(window).all()
    return {"items": [serialise(row) for row in rows], "total": total or 0,
            "page": page, "per_page": per_page}
