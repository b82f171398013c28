"""The freeze reads the audience in keyset pages; each page reads only the list memberships
past its cursor, and together the pages are the audience exactly: nobody twice, nobody lost,
list opt-outs and excluded lists honoured across page boundaries."""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy import select

from tests.tracking.support import make_release


def test_pages_together_are_the_audience_exactly(app: Flask,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    from mailer.contacts import lists, service
    from mailer.db import db
    from mailer.dispatch import freeze
    from mailer.dispatch import service as dispatch
    from mailer.dispatch.models import Delivery, Mailing
    from mailer.tracking.models import ListOptOut

    monkeypatch.setattr(freeze, "CHUNK", 2)
    release_id = make_release(app, ("en", "ru"))
    with app.app_context():
        ids = [service.create_contact({"email": f"j{n}@example.org", "language": "ru"}).id
               for n in range(9)]
        desk = lists.create_list({"name": "Desk"}).id
        wire = lists.create_list({"name": "Wire"}).id
        blocked = lists.create_list({"name": "Embargo breakers"}).id
        lists.add_members(desk, ids[:6])
        lists.add_members(wire, ids[3:8])       # 3–5 on both lists: one delivery each
        lists.add_members(blocked, [ids[4]])    # excluded
        db.session.add(ListOptOut(contact_id=ids[7], list_id=wire))  # left its only list
        db.session.add(ListOptOut(contact_id=ids[1], list_id=desk))  # left its only list
        db.session.commit()
        mailing = dispatch.create_mailing({"release_id": release_id, "list_ids": [desk, wire],
                                           "exclude_list_ids": [blocked]}, created_by="test")
        mailing = db.session.get(Mailing, mailing.id)
        assert mailing is not None
        result = freeze.freeze_audience(mailing, ["en", "ru"], domain="example.org")
        frozen = list(db.session.scalars(select(Delivery.contact_id).where(
            Delivery.mailing_id == mailing.id).order_by(Delivery.contact_id)))
        # Resumable: a second freeze goes on after the last contact written and adds nobody.
        again = freeze.freeze_audience(mailing, ["en", "ru"], domain="example.org")
        total = db.session.scalar(select(db.func.count(Delivery.id)).where(
            Delivery.mailing_id == mailing.id))
    expected = [ids[n] for n in (0, 2, 3, 5, 6)]
    assert frozen == expected
    assert result.recipients == len(expected)
    assert (again.recipients, total) == (0, len(expected))
