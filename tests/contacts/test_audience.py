"""audience_query: lists and segments in, excluded lists and suppressed out, once each."""

from __future__ import annotations

import pytest
from flask import Flask

from mailer.errors import Invalid
from tests.contacts.factories import make_contact, make_list, make_segment, suppress


def _resolve(app: Flask, lists: tuple[int, ...] = (), segments: tuple[int, ...] = (),
             exclude: tuple[int, ...] = ()) -> tuple[list[int], int]:
    from mailer.contacts.audience import audience_count, audience_query
    from mailer.db import db

    with app.app_context():
        ids = list(db.session.scalars(audience_query(lists, segments, exclude)))
        return ids, audience_count(lists, segments, exclude)


def test_union_minus_excluded_minus_suppressed_once_each(app: Flask) -> None:
    c = {name: make_contact(app, f"{name}@example.com", language=lang) for name, lang in
         [("a", "ru"), ("b", "ru"), ("c", "en"), ("d", "kk"), ("e", "tg"), ("f", "pl")]}
    press = make_list(app, "Press", members=(c["a"], c["b"], c["c"]))
    radio = make_list(app, "Radio", members=(c["b"], c["c"], c["d"]))
    embargo = make_list(app, "Embargo breakers", members=(c["c"],))
    tajik = make_segment(app, "Tajik readers", language=["tg"])
    russian = make_segment(app, "Russian readers", language=["ru"])
    suppress(app, "d@EXAMPLE.com", "unsubscribed")

    ids, count = _resolve(app, (press, radio), (tajik, russian), (embargo,))
    assert sorted(ids) == sorted([c["a"], c["b"], c["e"]])  # d suppressed, c excluded
    assert len(ids) == len(set(ids)) == count == 3


def test_empty_inputs_select_nobody(app: Flask) -> None:
    make_contact(app)
    assert _resolve(app) == ([], 0)
    empty = make_list(app, "Empty")
    assert _resolve(app, (empty,)) == ([], 0)


def test_exclusion_alone_selects_nobody(app: Flask) -> None:
    a = make_contact(app)
    listed = make_list(app, members=(a,))
    assert _resolve(app, (), (), (listed,)) == ([], 0)


def test_suppression_outlives_the_contact(app: Flask) -> None:
    from mailer.contacts import service

    first = make_contact(app, "back@example.com")
    listed = make_list(app, members=(first,))
    suppress(app, "back@example.com", "complaint")
    with app.app_context():
        service.delete_contact(first)
    again = make_contact(app, "back@Example.COM")
    from mailer.contacts import lists

    with app.app_context():
        lists.add_members(listed, [again])
    assert _resolve(app, (listed,)) == ([], 0)


def test_unknown_lists_and_segments_are_refused(app: Flask) -> None:
    from mailer.contacts.audience import audience_query

    with app.app_context(), pytest.raises(Invalid) as raised:
        audience_query([404], [405], [406])
    assert raised.value.fields == {"list_ids": "unknown ids: 404, 406",
                                   "segment_ids": "unknown ids: 405"}


def test_the_query_is_set_based(app: Flask) -> None:
    """One SELECT of ids, ready for INSERT … SELECT into a snapshot: no DISTINCT, no loops."""
    from sqlalchemy import insert, select, table

    from mailer.contacts.audience import audience_query

    listed = make_list(app)
    segment = make_segment(app, "All", country=["KZ"])
    with app.app_context():
        query = audience_query([listed], [segment], [listed])
        sql = str(query).upper()
        assert sql.startswith("SELECT CONTACTS.ID")
        assert "DISTINCT" not in sql and "NOT (EXISTS" in sql
        snapshot = table("snapshot")
        insert(snapshot).from_select(["contact_id"], select(query.subquery()))  # composes
