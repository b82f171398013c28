"""REST API of saved segments: CRUD, and a count and preview of what a filter selects now."""

from __future__ import annotations

from flask import Blueprint, request, url_for
from flask.typing import ResponseReturnValue

from mailer.auth.models import Role
from mailer.auth.policy import requires
from mailer.contacts import segments
from mailer.contacts.serialise import preview_json, segment_json
from mailer.errors import Invalid
from mailer.http import json_body, page_params

bp = Blueprint("segments_api", __name__, url_prefix="/api/v1/segments")


def _size() -> int:
    raw = request.args.get("size", str(segments.PREVIEW_SIZE))
    if not raw.isdecimal() or not 0 <= int(raw) <= 100:
        raise Invalid("Invalid preview size.", fields={"size": "must be between 0 and 100"})
    return int(raw)


@bp.get("")
def index() -> ResponseReturnValue:
    """A page of segments by name."""
    result = segments.list_segments(*page_params())
    return result.as_json([segment_json(segment) for segment in result.items])


@bp.post("")
def create() -> ResponseReturnValue:
    """Save a segment ``{name, description?, filters}``: 201; 422 naming each bad filter."""
    segment = segments.create_segment(json_body())
    return segment_json(segment), 201, \
        {"Location": url_for("segments_api.show", segment_id=segment.id)}


@bp.post("/preview")
@requires(Role.VIEWER)
def preview_filters() -> ResponseReturnValue:
    """Count and sample an unsaved ``{filters}`` (reads only, so viewers may)."""
    filters = segments.clean_filters(json_body().get("filters"))
    return preview_json(segments.preview(filters, _size()))


@bp.get("/<int:segment_id>")
def show(segment_id: int) -> ResponseReturnValue:
    """One segment."""
    return segment_json(segments.get_segment(segment_id))


@bp.get("/<int:segment_id>/preview")
def preview(segment_id: int) -> ResponseReturnValue:
    """How many contacts the segment selects now, how many may be mailed, the first ones."""
    segment = segments.get_segment(segment_id)
    return preview_json(segments.preview(segment.filters or {}, _size()))


@bp.patch("/<int:segment_id>")
def update(segment_id: int) -> ResponseReturnValue:
    """Change a segment's name, description or filters."""
    return segment_json(segments.update_segment(segment_id, json_body()))


@bp.delete("/<int:segment_id>")
def delete(segment_id: int) -> ResponseReturnValue:
    """Delete a segment: 204."""
    segments.delete_segment(segment_id)
    return "", 204
