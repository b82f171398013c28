"""The journalist's own choices from the preference centre, and the rule the freeze applies.

Owns list opt-outs ("not this list": the membership staff made stays, the journalist's choice
wins) and wanted languages ("send me releases only in these"; none chosen: any language).

The freeze rule (hooked in ``mailer.dispatch.freeze``):

1. A contact counts as on an included list only through memberships they have not opted out
   of (:func:`subscribed_in_lists_condition`); excluded lists still exclude on membership alone.
   Segments are filters staff define and are not affected.
2. With wanted languages, :func:`restrict_languages` keeps only the reading languages (and the
   mailing's fallbacks) that match a wanted one, and appends the wanted ones not yet ranked; a
   contact none of whose wanted languages has a translation is skipped with
   ``no wanted language``, never sent a fallback they declined.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from flask_babel import gettext
from sqlalchemy import ColumnElement, ScalarSelect, delete, exists, false, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from mailer.contacts.models import Contact, ContactList, ListMember
from mailer.contacts.validation import FieldError, normalise_language
from mailer.db import db, utcnow
from mailer.errors import Invalid
from mailer.tracking.models import ContactPreference, ListOptOut

NO_WANTED_LANGUAGE = "no wanted language"
MAX_LANGUAGES = 20


def subscribed_in_lists_condition(list_ids: Sequence[int], after: int | None = None
                                  ) -> ColumnElement[bool]:
    """True for contacts on any of these lists through a membership they did not opt out of;
    with ``after``, only memberships of contacts past that id are read (a keyset page)."""
    if not list_ids:
        return false()
    opted_out = exists().where(ListOptOut.contact_id == ListMember.contact_id,
                               ListOptOut.list_id == ListMember.list_id)
    members = select(ListMember.contact_id).where(ListMember.list_id.in_(list_ids), ~opted_out)
    if after is not None:
        members = members.where(ListMember.contact_id > after)
    return Contact.id.in_(members)


def wanted_languages_column() -> ScalarSelect[list[str]]:
    """A per-contact column of the languages they want (NULL when they never chose)."""
    return (select(ContactPreference.languages)
            .where(ContactPreference.contact_id == Contact.id)
            .scalar_subquery())


def matches(tag: str, wanted: Iterable[str]) -> bool:
    """True when ``tag`` is one of ``wanted`` or a more or less specific form of one."""
    tag = tag.lower()
    for item in wanted:
        item = item.lower()
        if tag == item or tag.startswith(item + "-") or item.startswith(tag + "-"):
            return True
    return False


def restrict_languages(ranked: Sequence[str], fallbacks: Sequence[str], wanted: Sequence[str]
                       ) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Reading languages and fallbacks cut down to the wanted ones (see the module's rule)."""
    if not wanted:
        return tuple(ranked), tuple(fallbacks)
    kept = [tag for tag in ranked if matches(tag, wanted)]
    kept += [tag for tag in wanted if not matches(tag, kept)]
    return tuple(kept), tuple(tag for tag in fallbacks if matches(tag, wanted))


@dataclass(frozen=True)
class ListChoice:
    """One list the contact is on, and whether they still want it."""

    id: int
    name: str
    subscribed: bool


def list_choices(contact_id: int) -> list[ListChoice]:
    """The lists a contact is on, each with their choice."""
    opted_out = exists().where(ListOptOut.contact_id == contact_id,
                               ListOptOut.list_id == ContactList.id)
    rows = db.session.execute(
        select(ContactList.id, ContactList.name, opted_out.label("out"))
        .join(ListMember, ListMember.list_id == ContactList.id)
        .where(ListMember.contact_id == contact_id)
        .order_by(ContactList.name))
    return [ListChoice(list_id, name, not out) for list_id, name, out in rows]


def wanted_languages(contact_id: int) -> list[str]:
    """The languages a contact chose (empty: any)."""
    row = db.session.get(ContactPreference, contact_id)
    return list(row.languages or []) if row is not None else []


def opt_out_of_lists(contact_id: int, list_ids: Iterable[int]) -> None:
    """Record "not these lists" (in the caller's transaction)."""
    rows = [{"contact_id": contact_id, "list_id": list_id, "created_at": utcnow()}
            for list_id in sorted(set(list_ids))]
    if not rows:
        return
    insert = pg_insert if db.session.get_bind().dialect.name == "postgresql" else sqlite_insert
    db.session.execute(insert(ListOptOut).on_conflict_do_nothing(
        index_elements=["contact_id", "list_id"]), rows)


def set_choices(contact_id: int, keep_list_ids: Iterable[int], languages: Iterable[str]) -> None:
    """Store the preference centre's answer: which of their lists to stay on, which languages.

    Raises Invalid for a language tag that is not one; commits.
    """
    tags: list[str] = []
    for raw in languages:
        try:
            tag = normalise_language(raw)
        except FieldError as exc:
            raise Invalid(gettext("Unknown language."), fields={"languages": str(exc)}) from exc
        if tag and tag not in tags:
            tags.append(tag)
    if len(tags) > MAX_LANGUAGES:
        raise Invalid(gettext("Too many languages."),
                      fields={"languages": gettext("at most %(n)s", n=MAX_LANGUAGES)})
    keep = set(keep_list_ids)
    member_of = {choice.id for choice in list_choices(contact_id)}
    opt_out_of_lists(contact_id, member_of - keep)
    if member_of & keep:
        db.session.execute(delete(ListOptOut).where(ListOptOut.contact_id == contact_id,
                                                    ListOptOut.list_id.in_(member_of & keep)))
    row = db.session.get(ContactPreference, contact_id)
    if row is None:
        db.session.add(ContactPreference(contact_id=contact_id, languages=tags))
    else:
        row.languages = tags
    db.session.commit()
