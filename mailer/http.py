"""Request and response plumbing shared by every REST API view: JSON bodies, ids and paging."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from flask import Flask, request
from flask_babel import gettext
from sqlalchemy import Select, func, select
from werkzeug.exceptions import NotFound
from werkzeug.routing import IntegerConverter

from mailer.db import db
from mailer.errors import BadRequest, Invalid

T = TypeVar("T")
MAX_PER_PAGE = 500
# The largest row id: PostgreSQL's INTEGER. A larger number names no row, and handing it to the
# database fails (SQLite cannot bind it, PostgreSQL refuses it as out of range), so ids beyond
# it are refused before any query: 404 in a path, 422 in a body or query string.
MAX_ID = 2**31 - 1
MAX_PAGE = MAX_ID


def is_id(value: object) -> bool:
    """True for a whole number that can be a row id (JSON ``true`` is no id)."""
    return isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_ID


def parse_id(raw: str) -> int | None:
    """A row id typed into a form or query string (ASCII digits, within range), else None."""
    raw = raw.strip()
    if not (raw.isascii() and raw.isdecimal()):
        return None
    value = int(raw)
    return value if is_id(value) else None


class IdConverter(IntegerConverter):
    """``<int:…>`` in routes: a number beyond :data:`MAX_ID` names no row, so it is a 404.

    Raising NotFound here, rather than failing to match, keeps the answer a 404 whatever the
    method (a rule that does not match would make werkzeug answer 405 for other methods).
    """

    def to_python(self, value: str) -> int:
        number = int(super().to_python(value))
        if number > MAX_ID:
            raise NotFound()
        return number


def init_http(app: Flask) -> None:
    """Bound every ``<int:…>`` route variable; call before the blueprints are registered."""
    app.url_map.converters["int"] = IdConverter


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
    for name, default, upper in (("page", 1, MAX_PAGE), ("per_page", 50, MAX_PER_PAGE)):
        raw = request.args.get(name, str(default))
        try:
            value = int(raw)
        except ValueError:
            errors[name] = gettext("must be a whole number")
            continue
        if not 1 <= value <= upper:
            errors[name] = gettext("must be between 1 and %(upper)s", upper=upper)
        values[name] = value
    if errors:
        raise Invalid(gettext("Invalid paging parameters."), fields=errors)
    return values["page"], values["per_page"]


def paged(query: Select[Any], serialise: Callable[[T], dict[str, Any]]) -> dict[str, Any]:
    """Run ``query`` for the requested page: ``{items, total, page, per_page}`` (API.md)."""
    page, per_page = page_params()
    total = db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    window = query.limit(per_page).offset((page - 1) * per_page)
    rows: Sequence[Any] = db.session.scalars(window).all()
    return {"items": [serialise(row) for row in rows], "total": total or 0,
            "page": page, "per_page": per_page}
