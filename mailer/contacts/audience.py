"""Who a mailing reaches: lists and segments in, excluded lists and suppressions out.

Named query (for the dispatch pipeline, which freezes it into a snapshot at send time)::

    SELECT c.id FROM contacts c
    WHERE (c.id IN (SELECT m.contact_id FROM list_members m WHERE m.list_id IN (:list_ids))
           OR <segment 1 filter> OR <segment 2 filter> …)
      AND NOT EXISTS (SELECT 1 FROM list_members x
                      WHERE x.contact_id = c.id AND x.list_id IN (:exclude_list_ids))
      AND NOT EXISTS (SELECT 1 FROM suppressions s WHERE s.email_hash = c.email_hash)

Why shaped so: each contact row is tested once (membership through ``IN`` and ``EXISTS`` on
primary keys and unique indexes), so a contact in several lists and segments comes out once
without a ``DISTINCT`` sort, and addresses are unique by ``email_key``, so one contact is one
address. It is
a plain SELECT of ids: ``INSERT … SELECT`` it into a snapshot table, or stream it; nothing loops
over rows in Python. Segments are resolved here, when the query is built, from their filters as
they are now.
"""

from __future__ import annotations

from collections.abc import Sequence

from flask_babel import gettext
from sqlalchemy import ColumnElement, Select, false, func, or_, select

from mailer.contacts.filtering import (
    conditions,
    in_lists_condition,
    not_in_lists_condition,
    suppressed_condition,
)
from mailer.contacts.models import Contact, ContactList, Segment
from mailer.contacts.segments import filter_of
from mailer.db import db
from mailer.errors import Invalid


def _unknown(model: type[ContactList] | type[Segment], ids: Sequence[int]) -> list[int]:
    known = set(db.session.scalars(select(model.id).where(model.id.in_(ids))))
    return sorted(set(ids) - known)


def audience_query(list_ids: Sequence[int] = (), segment_ids: Sequence[int] = (),
                   exclude_list_ids: Sequence[int] = ()) -> Select[int]:
    """The ids of the contacts to mail, once each, suppressed addresses left out.

    A contact is in when it is on any of ``list_ids`` or matches any of ``segment_ids``, and
    out when it is on any of ``exclude_list_ids`` or its address is suppressed. Unknown list or
    segment ids: Invalid, naming them.
    """
    errors: dict[str, str] = {}
    for field, model, ids in (("list_ids", ContactList, [*list_ids, *exclude_list_ids]),
                              ("segment_ids", Segment, list(segment_ids))):
        if ids and (unknown := _unknown(model, ids)):
            errors[field] = gettext("unknown ids: %(ids)s", ids=", ".join(map(str, unknown)))
    if errors:
        raise Invalid(gettext("The audience names lists or segments that do not exist."),
                      fields=errors)

    included: list[ColumnElement[bool]] = []
    if list_ids:
        included.append(in_lists_condition(sorted(set(list_ids))))
    if segment_ids:
        segments = db.session.scalars(select(Segment).where(Segment.id.in_(segment_ids)))
        included.extend(conditions(filter_of(segment.filters or {})) for segment in segments)
    query = select(Contact.id).where(or_(*included) if included else false())
    if exclude_list_ids:
        query = query.where(not_in_lists_condition(sorted(set(exclude_list_ids))))
    return query.where(~suppressed_condition())


def audience_count(list_ids: Sequence[int] = (), segment_ids: Sequence[int] = (),
                   exclude_list_ids: Sequence[int] = ()) -> int:
    """How many contacts :func:`audience_query` selects (one COUNT)."""
    query = audience_query(list_ids, segment_ids, exclude_list_ids)
    return db.session.scalar(select(func.count()).select_from(query.subquery())) or 0
