"""Static lists of journalists: the lists themselves, their members and member counts.

Owns list names (unique), bulk membership changes (one set-based INSERT … SELECT, counting
only new memberships) and member counts (one grouped COUNT for a whole page of lists).
A list that a saved segment refers to cannot be deleted: the segment would silently widen.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext
from sqlalchemy import delete, exists, func, insert, literal, select
from sqlalchemy.exc import IntegrityError

from mailer.contacts import validation
from mailer.contacts.models import Contact, ContactList, ListMember, Segment
from mailer.contacts.paging import Page, fetch_page
from mailer.db import db, utcnow
from mailer.errors import Conflict, Invalid, NotFound
from mailer.http import is_id

MAX_MEMBERS_PER_REQUEST = 10_000
MAX_UNKNOWN_LISTED = 20


@dataclass(frozen=True)
class ListView:
    """A list with its member count."""

    contact_list: ContactList
    member_count: int


def _clean(values: Mapping[str, Any], *, partial: bool) -> dict[str, str]:
    errors: dict[str, str] = {}
    clean: dict[str, str] = {}
    for name in values:
        if name not in {"name", "description", "id", "member_count", "created_at",
                        "updated_at"}:
            errors[name] = gettext("unknown field")
    if "name" in values or not partial:
        try:
            clean["name"] = validation.normalise_text(values.get("name"))
        except validation.FieldError as exc:
            errors["name"] = str(exc)
        else:
            if not clean["name"]:
                errors["name"] = gettext("required")
    if "description" in values:
        try:
            clean["description"] = validation.normalise_notes(values["description"])
        except validation.FieldError as exc:
            errors["description"] = str(exc)
    if errors:
        raise Invalid(gettext("Some fields are not valid."), fields=errors)
    return clean


def _ensure_name_free(name: str, other_than: int | None = None) -> None:
    existing = db.session.scalar(select(ContactList).where(ContactList.name == name))
    if existing is not None and existing.id != other_than:
        raise Conflict(gettext("A list named %(name)r already exists.", name=name),
                       fields={"name": gettext("taken")})


def _commit_or_conflict() -> None:
    try:
        db.session.commit()
    except IntegrityError as exc:
        db.session.rollback()
        raise Conflict(gettext("A list with this name already exists."),
                       fields={"name": gettext("taken")}) from exc


def create_list(values: Mapping[str, Any]) -> ContactList:
    """Create a list from ``{name, description}``."""
    clean = _clean(values, partial=False)
    _ensure_name_free(clean["name"])
    row = ContactList(**clean)
    db.session.add(row)
    _commit_or_conflict()
    return row


def get_list(list_id: int) -> ContactList:
    """The list with this id, or NotFound."""
    row = db.session.get(ContactList, list_id)
    if row is None:
        raise NotFound(gettext("No list with id %(id)s.", id=list_id))
    return row


def update_list(list_id: int, changes: Mapping[str, Any]) -> ContactList:
    """Rename a list or change its description (only the fields given)."""
    row = get_list(list_id)
    clean = _clean(changes, partial=True)
    if "name" in clean:
        _ensure_name_free(clean["name"], other_than=row.id)
    for name, value in clean.items():
        setattr(row, name, value)
    row.updated_at = utcnow()
    _commit_or_conflict()
    return row


def segments_using(list_id: int) -> list[Segment]:
    """Saved segments whose filters name this list."""
    return [segment for segment in db.session.scalars(select(Segment).order_by(Segment.name))
            if list_id in (segment.filters or {}).get("list_id", [])]


def delete_list(list_id: int) -> None:
    """Delete a list and its memberships (not the contacts); 409 while a segment uses it."""
    row = get_list(list_id)
    users = segments_using(list_id)
    if users:
        names = ", ".join(segment.name for segment in users)
        raise Conflict(gettext("Segments use this list: %(names)s. Change them first.",
                               names=names),
                       fields={"id": gettext("used by segments")})
    db.session.delete(row)
    db.session.commit()


def member_counts(list_ids: Sequence[int]) -> dict[int, int]:
    """Member counts of these lists: one grouped COUNT over the primary-key index."""
    counts = dict.fromkeys(list_ids, 0)
    if list_ids:
        rows = db.session.execute(
            select(ListMember.list_id, func.count())
            .where(ListMember.list_id.in_(list_ids)).group_by(ListMember.list_id))
        counts.update({list_id: int(n) for list_id, n in rows})
    return counts


def views_of(rows: Sequence[ContactList]) -> list[ListView]:
    """Lists with their member counts (one query for all of them)."""
    counts = member_counts([row.id for row in rows])
    return [ListView(row, counts[row.id]) for row in rows]


def get_list_view(list_id: int) -> ListView:
    """One list with its member count."""
    return views_of([get_list(list_id)])[0]


def list_lists(page: int = 1, per_page: int = 50) -> Page[ListView]:
    """A page of lists by name, with member counts."""
    result = fetch_page(select(ContactList).order_by(ContactList.name, ContactList.id), page,
                        per_page, count=select(func.count(ContactList.id)))
    return Page(items=views_of(result.items), total=result.total, page=page, per_page=per_page)


def all_lists() -> list[ContactList]:
    """Every list by name (for pickers; there are tens, not thousands)."""
    return list(db.session.scalars(select(ContactList).order_by(ContactList.name)))


def _contact_ids(raw: object) -> list[int]:
    if not isinstance(raw, list) or not all(is_id(i) for i in raw):
        raise Invalid(gettext("contact_ids must be a list of contact ids."),
                      fields={"contact_ids": gettext("must be a list of whole numbers")})
    if not raw:
        raise Invalid(gettext("Name at least one contact."),
                      fields={"contact_ids": gettext("required")})
    if len(raw) > MAX_MEMBERS_PER_REQUEST:
        raise Invalid(gettext("Too many contacts in one request."),
                      fields={"contact_ids": gettext("at most %(n)s per request",
                                                     n=MAX_MEMBERS_PER_REQUEST)})
    return sorted(set(raw))


def add_members(list_id: int, contact_ids: object) -> int:
    """Add contacts to a list; returns how many were not members before. Unknown ids: 422."""
    row = get_list(list_id)
    ids = _contact_ids(contact_ids)
    known = set(db.session.scalars(select(Contact.id).where(Contact.id.in_(ids))))
    unknown = [i for i in ids if i not in known]
    if unknown:
        shown = ", ".join(map(str, unknown[:MAX_UNKNOWN_LISTED]))
        if len(unknown) > MAX_UNKNOWN_LISTED:
            reason = gettext("unknown contact ids: %(ids)s and %(more)s more", ids=shown,
                             more=len(unknown) - MAX_UNKNOWN_LISTED)
        else:
            reason = gettext("unknown contact ids: %(ids)s", ids=shown)
        raise Invalid(gettext("Some contacts do not exist."), fields={"contact_ids": reason})
    # One INSERT … SELECT of the contacts not yet members: the row count is what was added.
    already = exists().where(ListMember.list_id == row.id, ListMember.contact_id == Contact.id)
    chosen = select(literal(row.id), Contact.id, literal(utcnow(), ListMember.added_at.type)) \
        .where(Contact.id.in_(ids), ~already)
    statement = insert(ListMember).from_select(["list_id", "contact_id", "added_at"], chosen) \
        .execution_options(preserve_rowcount=True)  # INSERT row counts are opt-in
    try:
        added = db.session.execute(statement).rowcount  # type: ignore[attr-defined]
        row.updated_at = utcnow()
        db.session.commit()
    except IntegrityError as exc:  # a concurrent request added some of them in between
        db.session.rollback()
        raise Conflict(gettext("The list changed meanwhile; send the request again.")) from exc
    return int(added or 0)


def add_matching(list_id: int, contact_ids_query: Any) -> int:
    """Add every contact selected by ``contact_ids_query`` (a SELECT of ids) to a list."""
    row = get_list(list_id)
    ids = contact_ids_query.subquery()
    already = exists().where(ListMember.list_id == row.id, ListMember.contact_id == ids.c.id)
    chosen = select(literal(row.id), ids.c.id, literal(utcnow(), ListMember.added_at.type)) \
        .where(~already)
    statement = insert(ListMember).from_select(["list_id", "contact_id", "added_at"], chosen) \
        .execution_options(preserve_rowcount=True)  # INSERT row counts are opt-in
    added = db.session.execute(statement).rowcount  # type: ignore[attr-defined]
    row.updated_at = utcnow()
    db.session.commit()
    return int(added or 0)


def remove_member(list_id: int, contact_id: int) -> None:
    """Take a contact off a list; NotFound when it was not on it."""
    get_list(list_id)
    result = db.session.execute(delete(ListMember).where(ListMember.list_id == list_id,
                                                         ListMember.contact_id == contact_id))
    if not result.rowcount:  # type: ignore[attr-defined]
        db.session.rollback()
        raise NotFound(gettext("Contact %(contact)s is not on list %(list)s.",
                               contact=contact_id, list=list_id))
    db.session.commit()


def lists_of(contact_id: int) -> list[ContactList]:
    """The lists a contact is on, by name."""
    return list(db.session.scalars(
        select(ContactList).join(ListMember, ListMember.list_id == ContactList.id)
        .where(ListMember.contact_id == contact_id).order_by(ContactList.name)))
