"""Per-delivery engagement: what the report and the delivery listing read, and the rare writes
(unsubscribe, bounce, complaint) that are not hits.

Hits are folded in by `mailer.tracking.events` in batches; the writes here are one upsert of
one row each, as they happen once per delivery at most.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from mailer.db import db
from mailer.tracking.models import DeliveryEngagement

_EMPTY: dict[str, Any] = {"opens": 0, "clicks": 0, "scanner_opens": 0, "scanner_clicks": 0,
                          "unsubscribe_scope": "", "bounce_kind": "", "bounce_status": "",
                          "bounce_diagnostic": ""}


def _upsert(delivery_id: int, mailing_id: int, values: dict[str, Any],
            keep_first: tuple[str, ...] = ()) -> None:
    """Insert the row or update ``values`` on it; columns in ``keep_first`` keep a set value."""
    insert = pg_insert if db.session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = insert(DeliveryEngagement).values(
        {**_EMPTY, "delivery_id": delivery_id, "mailing_id": mailing_id, **values})
    table = DeliveryEngagement.__table__.c
    changes = {name: (func.coalesce(table[name], statement.excluded[name])
                      if name in keep_first else statement.excluded[name]) for name in values}
    db.session.execute(statement.on_conflict_do_update(index_elements=["delivery_id"],
                                                       set_=changes))


def mark_unsubscribed(delivery_id: int, mailing_id: int, scope: str, at: datetime) -> None:
    """Record that this delivery's recipient unsubscribed (the first time counts); commits."""
    _upsert(delivery_id, mailing_id, {"unsubscribed_at": at, "unsubscribe_scope": scope},
            keep_first=("unsubscribed_at",))
    db.session.commit()


def mark_bounce(delivery_id: int, mailing_id: int, kind: str, status: str, diagnostic: str,
                at: datetime) -> None:
    """Record the latest bounce of this delivery (in the caller's transaction)."""
    _upsert(delivery_id, mailing_id, {"bounce_kind": kind, "bounced_at": at,
                                      "bounce_status": status[:16],
                                      "bounce_diagnostic": diagnostic[:2000]})


def mark_complaint(delivery_id: int, mailing_id: int, at: datetime) -> None:
    """Record a spam complaint about this delivery (in the caller's transaction)."""
    _upsert(delivery_id, mailing_id, {"complained_at": at}, keep_first=("complained_at",))


def _time(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def delivery_fields(delivery_id: int) -> dict[str, Any]:
    """``opened_at``, ``clicked_at`` and ``bounce`` of one delivery, as the API shows them."""
    row = db.session.get(DeliveryEngagement, delivery_id)
    return engagement_fields(row)


def engagement_fields(row: DeliveryEngagement | None) -> dict[str, Any]:
    """The API fields of an engagement row (or of none)."""
    if row is None:
        return {"opened_at": None, "clicked_at": None, "bounce": None}
    bounce = None
    if row.bounce_kind:
        bounce = {"kind": row.bounce_kind, "status": row.bounce_status or None,
                  "diagnostic": row.bounce_diagnostic or None, "at": _time(row.bounced_at)}
    return {
        "opened_at": _time(row.first_opened_at or row.first_clicked_at),
        "clicked_at": _time(row.first_clicked_at),
        "opens": row.opens,
        "clicks": row.clicks,
        "scanner_hits": row.scanner_opens + row.scanner_clicks,
        "unsubscribed_at": _time(row.unsubscribed_at),
        "complained_at": _time(row.complained_at),
        "bounce": bounce,
    }


def mailing_counts(mailing_id: int) -> dict[str, int]:
    """Opened, clicked, unsubscribed and complaints of a mailing, in one grouped query.

    A click counts as an open too (the reader saw the message with images blocked); scanner
    hits count in neither.
    """
    table = DeliveryEngagement
    row = db.session.execute(select(
        func.count(case(((table.opens > 0) | (table.clicks > 0), 1))),
        func.count(case((table.clicks > 0, 1))),
        func.count(table.unsubscribed_at),
        func.count(table.complained_at),
        func.coalesce(func.sum(table.scanner_opens + table.scanner_clicks), 0),
    ).where(table.mailing_id == mailing_id)).one()
    return {"opened": int(row[0]), "clicked": int(row[1]), "unsubscribed": int(row[2]),
            "complaints": int(row[3]), "scanner_hits": int(row[4])}
