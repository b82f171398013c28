"""Claims read the ledger in order from where the worker left off, and sending's updates touch
no index (on PostgreSQL they are heap-only), whatever the audience size."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from flask import Flask
from sqlalchemy import insert, inspect, select, text

from tests.tracking.gate_support import Composer, Transport
from tests.tracking.support import make_sent

# What sending writes on every message: no index may hold these, or each write touches it.
CHANGED_BY_SENDING = {"status", "claimed_by", "claimed_at", "attempts", "sent_at", "smtp_code",
                      "smtp_reply"}


def sending_mailing(app: Flask, recipients: int) -> int:
    """A mailing in ``sending`` with ``recipients`` queued deliveries, ids in order."""
    from mailer.db import db
    from mailer.dispatch.models import Delivery, Mailing

    first = make_sent(app, "first@example.org", status="queued")
    with app.app_context():
        db.session.execute(insert(Delivery), [
            {"mailing_id": first.mailing_id, "email": f"r{n}@example.org", "language": "en",
             "message_id": f"<{n}.test@example.org>"} for n in range(1, recipients)])
        mailing = db.session.get(Mailing, first.mailing_id)
        assert mailing is not None
        mailing.status = "sending"
        db.session.commit()
    return first.mailing_id


def ids_of(app: Flask, mailing_id: int) -> list[int]:
    from mailer.db import db
    from mailer.dispatch.models import Delivery

    with app.app_context():
        return list(db.session.scalars(select(Delivery.id).where(
            Delivery.mailing_id == mailing_id).order_by(Delivery.id)))


def test_claims_go_on_from_the_hint_and_find_rows_given_back_behind_it(app: Flask) -> None:
    from mailer.db import db
    from mailer.dispatch import ledger

    mailing_id = sending_mailing(app, 12)
    ids = ids_of(app, mailing_id)
    with app.app_context():
        first = [d.id for d in ledger.claim_batch(mailing_id, "w1", 5)]
        second = [d.id for d in ledger.claim_batch(mailing_id, "w2", 5, after=first[-1])]
        assert (first, second) == (ids[:5], ids[5:10])
        # Two rows of the first batch go back (a pause): they lie behind every worker's hint.
        assert ledger.release_claims(mailing_id, ids=ids[1:3]) == 2
        third = [d.id for d in ledger.claim_batch(mailing_id, "w1", 5, after=second[-1])]
        assert third == [ids[1], ids[2], ids[10], ids[11]]
        assert ledger.claim_batch(mailing_id, "w1", 5, after=ids[-1]) == []
        db.session.remove()


def test_due_retries_are_claimed_first_earliest_first(app: Flask) -> None:
    from mailer.db import db, utcnow
    from mailer.dispatch import ledger
    from mailer.dispatch.models import Delivery

    mailing_id = sending_mailing(app, 10)
    ids = ids_of(app, mailing_id)
    now = utcnow()
    with app.app_context():
        for delivery_id, due in ((ids[9], now - timedelta(minutes=5)),
                                 (ids[7], now - timedelta(minutes=1)),
                                 (ids[8], now + timedelta(minutes=5))):  # not yet due
            row = db.session.get(Delivery, delivery_id)
            assert row is not None
            row.status, row.next_attempt_at, row.attempts = "deferred", due, 1
        db.session.commit()
        batch = ledger.claim_batch(mailing_id, "w1", 4, now=now)
        assert [d.id for d in batch] == [ids[0], ids[1], ids[7], ids[9]]
        db.session.remove()


def test_no_index_holds_a_column_that_sending_changes(app: Flask) -> None:
    from mailer.db import db

    with app.app_context():
        inspector = inspect(db.engine)
        indexed = {column for index in inspector.get_indexes("deliveries")
                   for column in index["column_names"]}
        indexed |= {column for constraint in inspector.get_unique_constraints("deliveries")
                    for column in constraint["column_names"]}
        where = f"{db.engine.dialect.name}_where"
        predicates = " ".join(str(index.get("dialect_options", {}).get(where, ""))
                              for index in inspector.get_indexes("deliveries"))
    assert "next_attempt_at" in predicates or db.engine.dialect.name != "postgresql"
    assert not indexed & CHANGED_BY_SENDING, indexed
    assert not any(column in predicates for column in CHANGED_BY_SENDING), predicates


def test_sending_writes_heap_only_updates_on_postgresql(app: Flask) -> None:
    """Three updates a message (claimed, sending, sent); with no index to touch and room on
    the page they are HOT. PostgreSQL counts them per table once the backends report."""
    from mailer.db import db
    from mailer.dispatch.pipeline import SendPolicy, run_batches

    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("heap-only updates are PostgreSQL's")
    recipients = 300
    mailing_id = sending_mailing(app, recipients)
    with app.app_context():
        transport = Transport()
        run_batches(mailing_id, worker="test", composer=Composer(), transport=transport,
                    policy=SendPolicy())
        assert len(transport.sent) == recipients
        db.session.remove()
        db.engine.dispose()  # a backend reports its table statistics when it exits
        deadline = time.monotonic() + 15
        while True:
            db.session.execute(text("SELECT pg_stat_clear_snapshot()"))
            updates, heap_only = db.session.execute(text(
                "SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_user_tables "
                "WHERE relname = 'deliveries'")).one()
            db.session.commit()
            if updates >= 3 * recipients or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        db.session.remove()
    assert updates >= 3 * recipients
    assert heap_only >= 0.8 * updates, (updates, heap_only)


def test_an_address_erased_in_flight_gets_no_reply_quoting_it(app: Flask) -> None:
    from mailer.db import db, utcnow
    from mailer.dispatch import ledger
    from mailer.dispatch.ledger import LedgerWriter, Outcome
    from mailer.dispatch.models import Delivery, DeliveryStatus

    mailing_id = sending_mailing(app, 2)
    with app.app_context():
        first, second = ledger.claim_batch(mailing_id, "w1", 2)
        writer = LedgerWriter()
        try:
            for delivery in (first, second):
                assert writer.start(delivery.id, delivery.email, now=utcnow())
                if delivery is first:  # the journalist is erased while the message is in flight
                    db.session.execute(db.update(Delivery).where(Delivery.id == first.id)
                                       .values(email="", contact_id=None))
                    db.session.commit()
                writer.record(Outcome(delivery.id, DeliveryStatus.SENT, 250,
                                      f"2.0.0 Ok: queued for <{delivery.email}>",
                                      sent_at=utcnow()))
        finally:
            writer.close()
        db.session.expire_all()
        rows = {d.id: d for d in db.session.scalars(
            select(Delivery).where(Delivery.id.in_([first.id, second.id])))}
        db.session.remove()
    assert (rows[first.id].status, rows[first.id].smtp_reply) == ("sent", "")
    assert rows[second.id].smtp_reply == f"2.0.0 Ok: queued for <{second.email}>"
