"""Writing a batch of open and click hits: the raw log, the link table and the per-delivery
engagement, in one transaction of a few statements whatever the batch size.

Named queries, shaped for bursts:

* ``deliveries_of_batch``: one ``IN`` query for the mailing and send time of every delivery in
  the batch (the send time decides "too early: a scanner").
* ``upsert_links``: ``INSERT … ON CONFLICT DO NOTHING`` of the batch's distinct targets, then
  one ``IN`` query for their ids.
* ``insert_events``: the raw hits in one ``COPY`` on PostgreSQL (a few microseconds a row,
  against tens through bound parameters), one multi-row INSERT on SQLite.
* ``fold_engagement``: the batch aggregated per delivery in Python, then one multi-row
  ``INSERT … ON CONFLICT (delivery_id) DO UPDATE`` adding counts and keeping the earliest first
  time. Rows go in delivery-id order, so two processes flushing at once lock them in the same
  order and cannot deadlock.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from sqlalchemy import ColumnElement, Table, case, insert, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from mailer.db import db
from mailer.dispatch.models import Delivery
from mailer.tracking import scanners
from mailer.tracking.buffer import Hit
from mailer.tracking.models import DeliveryEngagement, HitKind, TrackedLink, TrackingEvent


@dataclass
class Written:
    """What one batch did."""

    events: int = 0
    dropped: int = 0


@dataclass
class _Fold:
    mailing_id: int
    opens: int = 0
    clicks: int = 0
    scanner_opens: int = 0
    scanner_clicks: int = 0
    opened: list[datetime] = field(default_factory=list)
    clicked: list[datetime] = field(default_factory=list)

    def row(self, delivery_id: int) -> dict[str, Any]:
        return {"delivery_id": delivery_id, "mailing_id": self.mailing_id,
                "opens": self.opens, "clicks": self.clicks,
                "scanner_opens": self.scanner_opens, "scanner_clicks": self.scanner_clicks,
                "first_opened_at": min(self.opened, default=None),
                "last_opened_at": max(self.opened, default=None),
                "first_clicked_at": min(self.clicked, default=None),
                "last_clicked_at": max(self.clicked, default=None),
                "unsubscribe_scope": "", "bounce_kind": "", "bounce_status": "",
                "bounce_diagnostic": ""}


def _table(model: type[Any]) -> Table:
    return cast(Table, model.__table__)


def _insert() -> Any:
    return pg_insert if db.session.get_bind().dialect.name == "postgresql" else sqlite_insert


def url_hash(url: str) -> str:
    """The key of a target address in the link table."""
    return hashlib.sha256(url.encode("utf-8")).hexdigest()


def write_hits(hits: Sequence[Hit], scanner_window: timedelta) -> Written:
    """Record a batch of hits and commit; hits of unknown or test deliveries are dropped."""
    result = Written()
    if not hits:
        return result
    ids = sorted({hit.delivery_id for hit in hits})
    deliveries = {row.id: row for row in db.session.execute(
        select(Delivery.id, Delivery.mailing_id, Delivery.sent_at, Delivery.claimed_at,
               Delivery.email)
        .where(Delivery.id.in_(ids), Delivery.is_test.is_(False)))}
    links = _link_ids({(deliveries[h.delivery_id].mailing_id, h.url) for h in hits
                       if h.url is not None and h.delivery_id in deliveries})
    events: list[dict[str, Any]] = []
    folds: dict[int, _Fold] = {}
    for hit in hits:
        delivery = deliveries.get(hit.delivery_id)
        if delivery is None:
            result.dropped += 1
            continue
        at = datetime.fromtimestamp(hit.at, UTC)
        scanner = hit.scanner
        if not scanner and scanners.too_early(at, delivery.sent_at or delivery.claimed_at,
                                              scanner_window):
            scanner = scanners.EARLY
        link_id = links.get((delivery.mailing_id, hit.url)) if hit.url is not None else None
        events.append({"delivery_id": hit.delivery_id, "mailing_id": delivery.mailing_id,
                       "kind": hit.kind, "link_id": link_id, "at": at, "scanner": scanner,
                       # An erased journalist's delivery has no address left: their old
                       # mail still counts in the figures, but nothing about the reader is kept.
                       "user_agent": hit.user_agent[:255] if delivery.email else ""})
        fold = folds.setdefault(hit.delivery_id, _Fold(delivery.mailing_id))
        if hit.kind == HitKind.OPEN:
            if scanner:
                fold.scanner_opens += 1
            else:
                fold.opens += 1
                fold.opened.append(at)
        elif scanner:
            fold.scanner_clicks += 1
        else:
            fold.clicks += 1
            fold.clicked.append(at)
    if events:
        _insert_events(events)
        _fold_engagement([folds[i].row(i) for i in sorted(folds)])
    db.session.commit()
    result.events = len(events)
    return result


EVENT_COLUMNS = ("delivery_id", "mailing_id", "kind", "link_id", "at", "scanner", "user_agent")
COPY_EVENTS = f"COPY tracking_events ({', '.join(EVENT_COLUMNS)}) FROM STDIN"


def _insert_events(events: list[dict[str, Any]]) -> None:
    """Named query ``insert_events``: COPY on PostgreSQL, executemany elsewhere."""
    connection = db.session.connection()
    if connection.dialect.name == "postgresql":
        driver: Any = connection.connection.driver_connection  # psycopg's, in this transaction
        with driver.cursor() as cursor, cursor.copy(COPY_EVENTS) as copy:
            for event in events:
                copy.write_row([event[name] for name in EVENT_COLUMNS])
        return
    # Core, not the ORM's bulk path (which runs a statement per row here).
    connection.execute(insert(_table(TrackingEvent)), events)


def _link_ids(targets: set[tuple[int, str | None]]) -> dict[tuple[int, str | None], int]:
    """Ids of the (mailing, url) targets, creating the missing ones."""
    if not targets:
        return {}
    rows = sorted({(mailing_id, url_hash(url), url) for mailing_id, url in targets if url})
    upsert = _insert()
    db.session.connection().execute(upsert(_table(TrackedLink)).on_conflict_do_nothing(
        index_elements=["mailing_id", "url_hash"]),
        [{"mailing_id": m, "url_hash": h, "url": u} for m, h, u in rows])
    found = db.session.execute(
        select(TrackedLink.id, TrackedLink.mailing_id, TrackedLink.url)
        .where(TrackedLink.url_hash.in_({h for _, h, _ in rows}),
               TrackedLink.mailing_id.in_({m for m, _, _ in rows})))
    return {(mailing_id, url): link_id for link_id, mailing_id, url in found}


def _earliest(current: Any, new: Any) -> ColumnElement[Any]:
    return case((new.is_(None), current), (current.is_(None), new), (new < current, new),
                else_=current)


def _latest(current: Any, new: Any) -> ColumnElement[Any]:
    return case((new.is_(None), current), (current.is_(None), new), (new > current, new),
                else_=current)


def _fold_engagement(rows: list[dict[str, Any]]) -> None:
    upsert = _insert()(_table(DeliveryEngagement))
    new = upsert.excluded
    table = _table(DeliveryEngagement).c
    changes = {
        "opens": table.opens + new.opens,
        "clicks": table.clicks + new.clicks,
        "scanner_opens": table.scanner_opens + new.scanner_opens,
        "scanner_clicks": table.scanner_clicks + new.scanner_clicks,
        "first_opened_at": _earliest(table.first_opened_at, new.first_opened_at),
        "last_opened_at": _latest(table.last_opened_at, new.last_opened_at),
        "first_clicked_at": _earliest(table.first_clicked_at, new.first_clicked_at),
        "last_clicked_at": _latest(table.last_clicked_at, new.last_clicked_at),
    }
    db.session.connection().execute(
        upsert.on_conflict_do_update(index_elements=["delivery_id"], set_=changes), rows)
