"""Journalists: creating, changing, deleting, finding and listing contacts.

Owns the rules of one contact record: every field checked by ``validation`` with all errors
reported at once (422), one contact per address key (409), tags kept in ``contact_tags``,
list memberships on create, the record's source and times. Suppression is not a property of a
contact but of its address (``suppressions``), so deleting or re-creating a contact never
changes whether its address may be mailed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext
from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError

from mailer.contacts import validation
from mailer.contacts.filtering import ContactFilter, Sort, conditions, order_by
from mailer.contacts.models import (
    Contact,
    ContactList,
    ContactSource,
    ContactTag,
    ListMember,
    Suppression,
)
from mailer.contacts.paging import Page, fetch_page
from mailer.db import db, utcnow
from mailer.errors import Conflict, Invalid, NotFound
from mailer.http import is_id

# Field rules, by the contact JSON's names.
TEXT_FIELDS = ("first_name", "last_name", "outlet", "beat", "role")
RULES: dict[str, Callable[[object], object]] = {
    **dict.fromkeys(TEXT_FIELDS, validation.normalise_text),
    "country": validation.normalise_country,
    "language": validation.normalise_language,
    "languages": validation.normalise_languages,
    "timezone": validation.normalise_timezone,
    "phone": validation.normalise_phone,
    "social": validation.normalise_social,
    "notes": validation.normalise_notes,
    "tags": validation.normalise_tags,
}
# Fields that may be left empty: an empty value clears them instead of failing "required".
OPTIONAL_CODES = ("country", "language", "timezone")
WRITABLE = frozenset({"email", "tracking", *RULES})
# Fields a client may send back unchanged from a GET; they are not written (GET → PATCH works).
READ_ONLY = frozenset({"id", "source", "source_detail", "created_at", "updated_at", "status",
                       "lists"})
MAX_LIST_IDS = 100


@dataclass(frozen=True)
class ContactView:
    """A contact with what is held about it elsewhere: its lists and its address's status."""

    contact: Contact
    list_ids: list[int]
    suppression: Suppression | None

    @property
    def suppressed(self) -> bool:
        """True when the address is on the suppression list."""
        return self.suppression is not None


def clean_fields(values: Mapping[str, Any], *, partial: bool) -> dict[str, Any]:
    """Canonical values for the writable fields in ``values``; Invalid listing every bad one.

    ``partial`` (PATCH) checks only the fields given; otherwise ``email`` is required.
    """
    errors: dict[str, str] = {}
    clean: dict[str, Any] = {}
    for name in values:
        if name not in WRITABLE and name not in READ_ONLY and name != "list_ids":
            errors[name] = gettext("unknown field")
    if "email" in values or not partial:
        try:
            clean["email"] = validation.normalise_email(values.get("email"))
        except validation.FieldError as exc:
            errors["email"] = str(exc)
    for name, rule in RULES.items():
        if name not in values:
            continue
        raw = values[name]
        if name in OPTIONAL_CODES and (raw is None or (isinstance(raw, str) and not raw.strip())):
            clean[name] = ""
            continue
        try:
            clean[name] = rule(raw)
        except validation.FieldError as exc:
            errors[name] = str(exc)
    if "tags" in clean and any(";" in tag for tag in clean["tags"]):
        errors["tags"] = gettext("a tag must not contain ';' (it separates tags in CSV files)")
    if "tracking" in values:
        if isinstance(values["tracking"], bool):
            clean["tracking"] = values["tracking"]
        else:
            errors["tracking"] = gettext("must be true or false")
    if errors:
        raise Invalid(gettext("Some fields are not valid."), fields=errors)
    return clean


def _list_ids(raw: object) -> tuple[list[int], str | None]:
    if raw is None:
        return [], None
    if not isinstance(raw, list) or not all(is_id(i) for i in raw):
        return [], "must be a list of list ids (whole numbers)"
    if len(raw) > MAX_LIST_IDS:
        return [], f"at most {MAX_LIST_IDS} lists"
    ids = sorted(set(raw))
    known = set(db.session.scalars(select(ContactList.id).where(ContactList.id.in_(ids))))
    unknown = [i for i in ids if i not in known]
    if unknown:
        return [], "unknown list ids: " + ", ".join(map(str, unknown))
    return ids, None


def find_by_email(address: str) -> Contact | None:
    """The contact with this address (same key: domain case and IDN spelling ignored)."""
    key = validation.email_key(address)
    return db.session.scalar(select(Contact).where(Contact.email_key == key))


def _ensure_unique(address: str, *, other_than: int | None = None) -> None:
    existing = find_by_email(address)
    if existing is not None and existing.id != other_than:
        raise Conflict(gettext("A contact with this email already exists (id %(id)s).",
                               id=existing.id),
                       fields={"email": gettext("already exists")})


def _set_tags(contact: Contact, tags: Iterable[str]) -> None:
    wanted = list(dict.fromkeys(tags))
    keep = [row for row in contact.tag_rows if row.tag in wanted]
    have = {row.tag for row in keep}
    contact.tag_rows = keep + [ContactTag(tag=tag) for tag in wanted if tag not in have]
    contact.tag_rows.sort(key=lambda row: row.tag)


def _apply(contact: Contact, clean: Mapping[str, Any]) -> None:
    for name, value in clean.items():
        if name == "tags":
            _set_tags(contact, value)
        elif name == "email":
            contact.email = value
            contact.email_key = validation.email_key(value)
        else:
            setattr(contact, name, value)


def _commit_or_conflict() -> None:
    try:
        db.session.commit()
    except IntegrityError as exc:  # a concurrent writer took the address first
        db.session.rollback()
        raise Conflict(gettext("A contact with this email already exists."),
                       fields={"email": gettext("already exists")}) from exc


def create_contact(values: Mapping[str, Any], *, source: ContactSource | str = ContactSource.API,
                   source_detail: str = "") -> Contact:
    """Create a contact from plain values (API.md's names), optionally in lists (``list_ids``)."""
    errors: dict[str, str] = {}
    try:
        clean = clean_fields(values, partial=False)
    except Invalid as exc:
        clean, errors = {}, dict(exc.fields)
    list_ids, list_error = _list_ids(values.get("list_ids"))
    if list_error:
        errors["list_ids"] = list_error
    if errors:
        raise Invalid(gettext("Some fields are not valid."), fields=errors)
    _ensure_unique(clean["email"])
    contact = Contact(email="", email_key="", source=str(ContactSource(source)),
                      source_detail=source_detail[:300])
    _apply(contact, clean)
    db.session.add(contact)
    db.session.flush()
    if list_ids:
        now = utcnow()
        db.session.execute(insert(ListMember), [
            {"list_id": list_id, "contact_id": contact.id, "added_at": now}
            for list_id in list_ids])
    _commit_or_conflict()
    return contact


def get_contact(contact_id: int) -> Contact:
    """The contact with this id, or NotFound."""
    contact = db.session.get(Contact, contact_id)
    if contact is None:
        raise NotFound(gettext("No contact with id %(id)s.", id=contact_id))
    return contact


def update_contact(contact_id: int, changes: Mapping[str, Any]) -> Contact:
    """Change the given fields only (PATCH); the others stay as they are."""
    contact = get_contact(contact_id)
    if "list_ids" in changes:
        raise Invalid(gettext("Lists are changed through /api/v1/lists/{id}/members."),
                      fields={"list_ids": gettext("not changed here: use the list's members")})
    clean = clean_fields(changes, partial=True)
    if "email" in clean:
        _ensure_unique(clean["email"], other_than=contact.id)
    _apply(contact, clean)
    contact.updated_at = utcnow()  # also when only tags changed (another table)
    _commit_or_conflict()
    return contact


def delete_contact(contact_id: int) -> None:
    """Delete a contact, its tags and memberships; a suppression of its address stays."""
    db.session.delete(get_contact(contact_id))
    db.session.commit()


def views_of(contacts: Sequence[Contact]) -> list[ContactView]:
    """Contacts with their lists and suppression: two queries for the whole batch, not N."""
    ids = [c.id for c in contacts]
    memberships: dict[int, list[int]] = {i: [] for i in ids}
    suppressions: dict[str, Suppression] = {}
    if ids:
        rows = db.session.execute(
            select(ListMember.contact_id, ListMember.list_id)
            .where(ListMember.contact_id.in_(ids)).order_by(ListMember.list_id))
        for contact_id, list_id in rows:
            memberships[contact_id].append(list_id)
        hashes = {c.email_hash for c in contacts}
        suppressions = {s.email_hash: s for s in db.session.scalars(
            select(Suppression).where(Suppression.email_hash.in_(hashes)))}
    return [ContactView(c, memberships[c.id], suppressions.get(c.email_hash)) for c in contacts]


def get_contact_view(contact_id: int) -> ContactView:
    """One contact with its lists and suppression."""
    return views_of([get_contact(contact_id)])[0]


def list_contacts(spec: ContactFilter, sort: Sort, page: int = 1,
                  per_page: int = 50) -> Page[ContactView]:
    """One page of the contacts matching ``spec``, sorted; the total by one COUNT.

    Shaped for 100,000 contacts: the filter is set-based (see filtering), the page query walks
    the sort column's index (with a text search on SQLite: one scan keeping the top rows), tags
    load in one extra query (selectin), lists and suppressions in one each for the page.
    """
    where = [conditions(spec)] if spec != ContactFilter() else []  # SQLite: no "WHERE 1 = 1"
    query = select(Contact).where(*where).order_by(*order_by(sort, spec))
    count = select(func.count()).select_from(Contact).where(*where)  # count(*): fast path
    result = fetch_page(query, page, per_page, count=count)
    return Page(items=views_of(result.items), total=result.total, page=page, per_page=per_page)


def count_contacts() -> int:
    """How many contacts there are."""
    return db.session.scalar(select(func.count()).select_from(Contact)) or 0
