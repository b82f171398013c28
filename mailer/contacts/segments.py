"""Saved segments: named filters over contacts, resolved whenever they are used.

Owns the filter shape and its checks. A segment's ``filters`` is a JSON object whose keys are
the contacts listing's filter names, each with a list of accepted values::

    {"language": ["ru", "kk"], "country": ["KZ", "TJ"], "outlet": ["Steppe Wire"],
     "beat": ["politics"], "tag": ["vip"], "list_id": [3, 7]}

A contact matches when it matches every key given, and a key when it matches any of its values
(``language`` also matches subtags: ``kk`` matches ``kk-Latn``). ``{}`` matches every contact.
Nothing is stored per contact: the filter is evaluated when the segment is counted, previewed or
used as a mailing's audience, so it always reflects the contacts as they are then.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from mailer.contacts import validation
from mailer.contacts.filtering import ContactFilter, conditions, suppressed_condition
from mailer.contacts.models import Contact, ContactList, Segment
from mailer.contacts.paging import Page, fetch_page
from mailer.db import db, utcnow
from mailer.errors import Conflict, Invalid, NotFound
from mailer.http import is_id

MAX_VALUES = 100
PREVIEW_SIZE = 20

# Filter key → rule for one value (list ids are checked separately: they must exist).
VALUE_RULES: dict[str, Callable[[object], str]] = {
    "language": validation.normalise_language,
    "country": validation.normalise_country,
    "outlet": validation.normalise_text,
    "beat": validation.normalise_text,
    "tag": lambda value: _one_tag(value),
}
FILTER_KEYS = (*VALUE_RULES, "list_id")


def _one_tag(value: object) -> str:
    if not isinstance(value, str):
        raise validation.FieldError(gettext("every tag must be text"))
    tags = validation.normalise_tags([value])
    if len(tags) != 1 or ";" in tags[0]:
        raise validation.FieldError(gettext("%(value)r is not a tag", value=value))
    return tags[0]


@dataclass(frozen=True)
class SegmentPreview:
    """How many contacts a filter selects now, how many of them may be mailed, the first few."""

    count: int
    mailable: int
    sample: list[Contact]


def clean_filters(raw: object) -> dict[str, list[Any]]:
    """The canonical form of a segment filter; Invalid naming each bad key (``filters.KEY``)."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise Invalid(gettext("filters must be an object."),
                      fields={"filters": gettext("must be an object")})
    errors: dict[str, str] = {}
    clean: dict[str, list[Any]] = {}
    for key, values in raw.items():
        field = f"filters.{key}"
        if key not in FILTER_KEYS:
            errors[field] = gettext("unknown filter; use %(keys)s", keys=", ".join(FILTER_KEYS))
            continue
        if isinstance(values, str | int) and not isinstance(values, bool):
            values = [values]
        if not isinstance(values, list):
            errors[field] = gettext("must be a list of values")
            continue
        if len(values) > MAX_VALUES:
            errors[field] = gettext("at most %(n)s values", n=MAX_VALUES)
            continue
        try:
            clean[key] = _clean_values(key, values)
        except validation.FieldError as exc:
            errors[field] = str(exc)
    if errors:
        raise Invalid(gettext("Some filters are not valid."), fields=errors)
    return {key: values for key, values in clean.items() if values}


def _clean_values(key: str, values: list[Any]) -> list[Any]:
    if key == "list_id":
        if not all(is_id(v) for v in values):
            raise validation.FieldError(gettext("must be list ids (whole numbers)"))
        ids = sorted(set(values))
        known = set(db.session.scalars(select(ContactList.id).where(ContactList.id.in_(ids))))
        unknown = [i for i in ids if i not in known]
        if unknown:
            raise validation.FieldError(gettext("unknown list ids: %(ids)s",
                                                ids=", ".join(map(str, unknown))))
        return ids
    rule = VALUE_RULES[key]
    cleaned: list[str] = []
    for value in values:
        item = rule(value)
        if item and item not in cleaned:
            cleaned.append(item)
    return cleaned


def filter_of(filters: Mapping[str, list[Any]]) -> ContactFilter:
    """The contact filter a (clean) segment filter stands for."""
    return ContactFilter(
        list_ids=tuple(filters.get("list_id", ())),
        languages=tuple(filters.get("language", ())),
        countries=tuple(filters.get("country", ())),
        outlets=tuple(filters.get("outlet", ())),
        beats=tuple(filters.get("beat", ())),
        tags=tuple(filters.get("tag", ())),
    )


def _clean(values: Mapping[str, Any], *, partial: bool) -> dict[str, Any]:
    errors: dict[str, str] = {}
    clean: dict[str, Any] = {}
    for name in values:
        if name not in {"name", "description", "filters", "id", "created_at", "updated_at"}:
            errors[name] = gettext("unknown field")
    if "name" in values or not partial:
        try:
            clean["name"] = validation.normalise_text(values.get("name"))
            if not clean["name"]:
                errors["name"] = gettext("required")
        except validation.FieldError as exc:
            errors["name"] = str(exc)
    if "description" in values:
        try:
            clean["description"] = validation.normalise_notes(values["description"])
        except validation.FieldError as exc:
            errors["description"] = str(exc)
    if "filters" in values or not partial:
        try:
            clean["filters"] = clean_filters(values.get("filters"))
        except Invalid as exc:
            errors.update(exc.fields)
    if errors:
        raise Invalid(gettext("Some fields are not valid."), fields=errors)
    return clean


def _ensure_name_free(name: str, other_than: int | None = None) -> None:
    existing = db.session.scalar(select(Segment).where(Segment.name == name))
    if existing is not None and existing.id != other_than:
        raise Conflict(gettext("A segment named %(name)r already exists.", name=name),
                       fields={"name": gettext("taken")})


def _commit_or_conflict() -> None:
    try:
        db.session.commit()
    except IntegrityError as exc:
        db.session.rollback()
        raise Conflict(gettext("A segment with this name already exists."),
                       fields={"name": gettext("taken")}) from exc


def create_segment(values: Mapping[str, Any]) -> Segment:
    """Save a segment ``{name, description?, filters}``."""
    clean = _clean(values, partial=False)
    _ensure_name_free(clean["name"])
    segment = Segment(**clean)
    db.session.add(segment)
    _commit_or_conflict()
    return segment


def get_segment(segment_id: int) -> Segment:
    """The segment with this id, or NotFound."""
    segment = db.session.get(Segment, segment_id)
    if segment is None:
        raise NotFound(gettext("No segment with id %(id)s.", id=segment_id))
    return segment


def update_segment(segment_id: int, changes: Mapping[str, Any]) -> Segment:
    """Change a segment's name, description or filters (only those given)."""
    segment = get_segment(segment_id)
    clean = _clean(changes, partial=True)
    if "name" in clean:
        _ensure_name_free(clean["name"], other_than=segment.id)
    for name, value in clean.items():
        setattr(segment, name, value)
    segment.updated_at = utcnow()
    _commit_or_conflict()
    return segment


def delete_segment(segment_id: int) -> None:
    """Delete a saved segment (contacts are untouched)."""
    db.session.delete(get_segment(segment_id))
    db.session.commit()


def list_segments(page: int = 1, per_page: int = 50) -> Page[Segment]:
    """A page of segments by name."""
    return fetch_page(select(Segment).order_by(Segment.name, Segment.id), page, per_page,
                      count=select(func.count(Segment.id)))


def preview(filters: Mapping[str, list[Any]], size: int = PREVIEW_SIZE) -> SegmentPreview:
    """How many contacts a (clean) filter selects now (and how many are not suppressed), and
    the first ``size`` of them by name."""
    where = conditions(filter_of(filters))
    count = db.session.scalar(select(func.count()).select_from(Contact).where(where)) or 0
    mailable = db.session.scalar(select(func.count()).select_from(Contact)
                                 .where(where, ~suppressed_condition())) or 0
    sample = db.session.scalars(select(Contact).where(where)
                                .order_by(Contact.last_name, Contact.first_name, Contact.id)
                                .limit(size)).all()
    return SegmentPreview(count=count, mailable=mailable, sample=list(sample))
