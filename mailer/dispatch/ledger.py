"""The delivery ledger's named queries: claiming, recording outcomes, recovering, counting.

The database is the truth about every recipient; Celery messages only say "there is work".
Each query is shaped so that any number of workers on any number of machines can run it at
once without two of them ever holding the same row:

* ``claim_batch``: ``UPDATE … WHERE id IN (SELECT … FOR UPDATE SKIP LOCKED) RETURNING``
  (due retries first, then fresh rows in id order). On PostgreSQL concurrent claimers skip
  each other's rows instead of waiting; on SQLite the statement runs under the database's
  single write lock, which serialises claimers just as safely. The claim is committed before
  any SMTP is spoken.
* ``start_sending`` / ``record_outcome``: the row moves to ``sending`` in a commit of its own
  just before its SMTP transaction, and to its outcome right after the server's reply. So a
  worker killed at any moment leaves ``claimed`` rows (never tried: safe to queue again) or at
  most one ``sending`` row per connection (maybe delivered: ``unknown``, never resent blindly).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    Connection,
    Integer,
    Select,
    Update,
    and_,
    bindparam,
    case,
    exists,
    func,
    or_,
    select,
    update,
)

from mailer.contacts.models import Suppression
from mailer.contacts.validation import email_hash
from mailer.db import db, read_in_index_order, utcnow
from mailer.dispatch.models import (
    CLAIMABLE_STATUSES,
    OPEN_STATUSES,
    Delivery,
    DeliveryStatus,
    Mailing,
)
from mailer.dispatch.prepared import PreparedStatements


@dataclass(frozen=True)
class ClaimedDelivery:
    """What a worker needs to send one claimed delivery."""

    id: int
    contact_id: int | None
    email: str
    language: str
    message_id: str
    attempts: int
    is_test: bool = False


def claim_batch(mailing_id: int, worker: str, size: int, now: datetime | None = None,
                ids: Sequence[int] | None = None, after: int = 0) -> list[ClaimedDelivery]:
    """Atomically take up to ``size`` due deliveries of a mailing for ``worker``; commits.

    Test deliveries are only ever claimed by id (``ids``), never with the audience.

    Named queries ``claim_retries`` then ``claim_fresh``, in one transaction: first the
    deliveries whose time has come (deferred, postponed by the rate, held for a local-time
    window; the only rows with a ``next_attempt_at``, read from the partial index
    ``ix_deliveries_due``, earliest first), then never-tried ones in id order from
    ``ix_deliveries_mailing_order``.

    No index holds ``status`` (so that sending's updates are heap-only), so the fresh part
    reads the mailing's rows in id order and skips those already taken. ``after`` is where the
    caller's previous claim ended: a worker claims from there, reading past only the few
    batches other workers claimed meanwhile, so a claim costs the same at any audience size.
    It is only a hint: when the rows past it run short the claim reads from the start again,
    where a released or recovered row may wait.

    Both parts must be index reads in order, stopped after ``size`` rows: the claim's
    transaction turns sorting off (:func:`mailer.db.read_in_index_order`; on the statistics of
    a table a freeze just grew, the first 30,000-recipient mailing took 8–50 ms per claim, for
    0.8 ms in order).
    """
    now = now or utcnow()
    read_in_index_order()
    connection = db.session.connection()
    claim = {"claim_mailing": mailing_id, "worker": worker, "now": now}
    if ids is not None:
        rows = _claim(connection, _claim_statement(select(Delivery.id).where(
            Delivery.mailing_id == mailing_id,
            Delivery.status.in_(CLAIMABLE_STATUSES),
            or_(Delivery.next_attempt_at.is_(None), Delivery.next_attempt_at <= now),
            Delivery.id.in_(list(ids)),
        ).order_by(Delivery.id).limit(size)), claim)
    else:
        rows = _claim(connection, _CLAIM_RETRIES, {**claim, "size": size})
        for start in dict.fromkeys((after, 0)):  # the hint, then (if rows ran short) the start
            if len(rows) >= size:
                break
            rows += _claim(connection, _CLAIM_FRESH,
                           {**claim, "after": start, "size": size - len(rows)})
    db.session.commit()
    return sorted(rows, key=lambda d: d.id)


def _claim_statement(due: Select[Any]) -> Update:
    """Mark the rows ``due`` selects as claimed by the ``worker`` parameter at ``now``
    (skipping rows another claimer has locked), returning what the worker needs to send them."""
    return (
        update(Delivery)
        .where(Delivery.id.in_(due.with_for_update(skip_locked=True).scalar_subquery()))
        .values(status=DeliveryStatus.CLAIMED, claimed_by=bindparam("worker"),
                claimed_at=bindparam("now", type_=Delivery.claimed_at.type))
        .returning(Delivery.id, Delivery.contact_id, Delivery.email, Delivery.language,
                   Delivery.message_id, Delivery.attempts, Delivery.is_test)
    )


# Built once: the claim runs for every batch of every mailing, and building the expressions
# cost more client time than the statements' round trips.
_CLAIM_RETRIES = _claim_statement(select(Delivery.id).where(
    Delivery.mailing_id == bindparam("claim_mailing"),
    Delivery.next_attempt_at <= bindparam("now", type_=Delivery.next_attempt_at.type),
    Delivery.status.in_(CLAIMABLE_STATUSES),
    Delivery.is_test.is_(False),
).order_by(Delivery.next_attempt_at, Delivery.id).limit(bindparam("size", type_=Integer)))
# Never-tried deliveries of a mailing past id ``after``, in id order.
_CLAIM_FRESH = _claim_statement(select(Delivery.id).where(
    Delivery.mailing_id == bindparam("claim_mailing"),
    Delivery.id > bindparam("after"),
    Delivery.status == DeliveryStatus.QUEUED,
    Delivery.next_attempt_at.is_(None),
    Delivery.is_test.is_(False),
).order_by(Delivery.id).limit(bindparam("size", type_=Integer)))


def _claim(connection: Connection, statement: Update, params: dict[str, Any]
           ) -> list[ClaimedDelivery]:
    """Run a claim statement; does not commit. Core, not the ORM: the rows are plain tuples,
    and the ORM's bulk-update bookkeeping cost more client time than the statement."""
    return [ClaimedDelivery(*row) for row in connection.execute(statement, params).all()]


def start_sending(delivery_id: int, now: datetime | None = None) -> bool:
    """Mark one claimed delivery as being sent, and commit; False if it is no longer ours."""
    result = db.session.execute(
        update(Delivery)
        .where(Delivery.id == delivery_id, Delivery.status == DeliveryStatus.CLAIMED)
        .values(status=DeliveryStatus.SENDING, claimed_at=now or utcnow(),
                attempts=Delivery.attempts + 1)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return bool(result.rowcount)  # type: ignore[attr-defined]


def record_outcome(delivery_id: int, status: DeliveryStatus, *, code: int | None = None,
                   reply: str = "", next_attempt_at: datetime | None = None,
                   now: datetime | None = None) -> None:
    """Store the server's answer for one delivery, and commit."""
    values: dict[str, object] = {"status": status, "smtp_code": code, "smtp_reply": reply[:2000],
                                 "next_attempt_at": next_attempt_at, "claimed_by": ""}
    if status == DeliveryStatus.SENT:
        values["sent_at"] = now or utcnow()
    db.session.execute(
        update(Delivery).where(Delivery.id == delivery_id).values(**values)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()


def release_claims(mailing_id: int, worker: str | None = None,
                   ids: Sequence[int] | None = None) -> int:
    """Put claimed-but-untried deliveries back in the queue (pause, shutdown); commits."""
    condition = and_(Delivery.mailing_id == mailing_id, Delivery.status == DeliveryStatus.CLAIMED)
    if worker is not None:
        condition = and_(condition, Delivery.claimed_by == worker)
    if ids is not None:
        condition = and_(condition, Delivery.id.in_(list(ids)))
    result = db.session.execute(
        update(Delivery).where(condition)
        .values(status=DeliveryStatus.QUEUED, claimed_by="", claimed_at=None)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


RECOVERY_HORIZON = timedelta(days=1)


def recover_abandoned(*, claim_timeout: timedelta, sending_timeout: timedelta,
                      now: datetime | None = None) -> tuple[int, int]:
    """After a worker died: stale claims go back to the queue, stale sends become unknown.

    Only the rows of mailings not yet finished (or finished in the last day: a cancelled
    mailing's message in flight, a late test send) are read, through the mailing index: the
    ledger of every mailing ever sent is not scanned every few seconds.
    """
    now = now or utcnow()
    recent = Delivery.mailing_id.in_(select(Mailing.id).where(
        or_(Mailing.finished_at.is_(None), Mailing.finished_at > now - RECOVERY_HORIZON)))
    requeued = db.session.execute(
        update(Delivery)
        .where(recent, Delivery.status == DeliveryStatus.CLAIMED,
               Delivery.claimed_at < now - claim_timeout)
        .values(status=DeliveryStatus.QUEUED, claimed_by="", claimed_at=None)
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    unknown = db.session.execute(
        update(Delivery)
        .where(recent, Delivery.status == DeliveryStatus.SENDING,
               Delivery.claimed_at < now - sending_timeout)
        .values(status=DeliveryStatus.UNKNOWN, claimed_by="",
                smtp_reply="the worker stopped during the SMTP transaction; it may have arrived")
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    db.session.commit()
    return int(requeued or 0), int(unknown or 0)


def status_counts(mailing_id: int, *, tests: bool = False) -> dict[str, int]:
    """Deliveries of a mailing per status, in one grouped query."""
    rows = db.session.execute(
        select(Delivery.status, func.count(Delivery.id))
        .where(Delivery.mailing_id == mailing_id, Delivery.is_test.is_(tests))
        .group_by(Delivery.status)
    ).all()
    return {str(status): int(count) for status, count in rows}


def language_counts(mailing_id: int) -> dict[str, int]:
    """Recipients per resolved language (skipped and test deliveries excluded)."""
    rows = db.session.execute(
        select(Delivery.language, func.count(Delivery.id))
        .where(Delivery.mailing_id == mailing_id, Delivery.is_test.is_(False),
               Delivery.status != DeliveryStatus.SKIPPED)
        .group_by(Delivery.language)
    ).all()
    return {str(language): int(count) for language, count in rows if language}


def open_count(mailing_id: int) -> int:
    """How many deliveries of a mailing are not in a final state."""
    return db.session.scalar(
        select(func.count(Delivery.id)).where(
            Delivery.mailing_id == mailing_id,
            Delivery.status.in_([status.value for status in OPEN_STATUSES]))
    ) or 0


def due_count(mailing_id: int, now: datetime | None = None) -> int:
    """How many deliveries of a mailing could be claimed right now."""
    now = now or utcnow()
    return db.session.scalar(select(func.count(Delivery.id)).where(
        Delivery.mailing_id == mailing_id, Delivery.is_test.is_(False),
        Delivery.status.in_(CLAIMABLE_STATUSES),
        or_(Delivery.next_attempt_at.is_(None), Delivery.next_attempt_at <= now))) or 0


def active_count(mailing_id: int) -> int:
    """How many deliveries of a mailing a worker holds right now (claimed or sending)."""
    return db.session.scalar(select(func.count(Delivery.id)).where(
        Delivery.mailing_id == mailing_id,
        Delivery.status.in_([DeliveryStatus.CLAIMED.value, DeliveryStatus.SENDING.value]))) or 0


def next_due(mailing_id: int) -> datetime | None:
    """When the earliest deferred delivery of a mailing is due again."""
    return db.session.scalar(
        select(func.min(Delivery.next_attempt_at)).where(
            Delivery.mailing_id == mailing_id, Delivery.status == DeliveryStatus.DEFERRED)
    )


@dataclass(frozen=True)
class Outcome:
    """What the server answered for one delivery, waiting to be written."""

    delivery_id: int
    status: DeliveryStatus
    code: int | None = None
    reply: str = ""
    next_attempt_at: datetime | None = None
    sent_at: datetime | None = None


NO_ROW = -1  # an id no delivery has: "no outcome to write" / "nothing to start"


class LedgerWriter:
    """The per-message writes of one worker's run, on a connection of its own.

    Named query ``step``: write the previous delivery's outcome and mark the next one
    ``sending`` in one atomic step — on PostgreSQL a single statement (two data-modifying
    CTEs, autocommit: one round trip, no BEGIN/COMMIT); on SQLite two statements in one
    transaction. The next row only moves if it is still ``claimed`` (a pause may have released
    it) and its address is not suppressed by now (an unsubscribe since the freeze). So each
    message costs one committed write before its SMTP transaction, and the outcome is committed
    at the latest with the next message's start, or by :meth:`flush` at once when no message
    follows.

    On PostgreSQL with psycopg the statements are compiled once and run on the driver's own
    connection as server-side prepared statements: SQLAlchemy's per-execution work (parameter
    processing, result set construction) cost more client CPU than the round trip itself, and
    this runs for every message of every mailing. SQLite keeps SQLAlchemy's execution.
    """

    def __init__(self) -> None:
        engine = db.engine
        self.postgres = engine.dialect.name == "postgresql"
        connection = engine.connect()
        self.connection = (connection.execution_options(isolation_level="AUTOCOMMIT")
                           if self.postgres else connection)
        self.pending: Outcome | None = None
        self._done = (
            update(Delivery)
            .where(Delivery.id == bindparam("done_id"))
            # An address erased while its message was in flight stays erased: servers quote
            # the recipient in their replies.
            .values(status=bindparam("done_status"), smtp_code=bindparam("code"),
                    smtp_reply=case((Delivery.email == "", ""), else_=bindparam("reply")),
                    next_attempt_at=bindparam("next_at"),
                    sent_at=func.coalesce(bindparam("done_sent_at", type_=Delivery.sent_at.type),
                                          Delivery.sent_at),
                    claimed_by="")
        )
        self._start = (
            update(Delivery)
            .where(Delivery.id == bindparam("start_id"),
                   Delivery.status == DeliveryStatus.CLAIMED,
                   ~exists().where(Suppression.email_hash == bindparam("start_hash")))
            .values(status=DeliveryStatus.SENDING, claimed_at=bindparam("now"),
                    attempts=Delivery.attempts + 1)
        )
        self._status = select(Mailing.status).where(Mailing.id == bindparam("mailing_id"))
        self._raw: PreparedStatements | None = None
        if self.postgres:
            done = self._done.returning(Delivery.id).cte("done")
            started = self._start.returning(Delivery.id).cte("started")
            self._step = select(func.count()).select_from(started).add_cte(done)
            if engine.dialect.driver == "psycopg":
                self._raw = PreparedStatements(self.connection, {
                    "step": self._step, "done": self._done, "status": self._status})

    def _params(self, outcome: Outcome | None, start_id: int, start_email: str,
                now: datetime) -> dict[str, object]:
        return {
            "done_id": outcome.delivery_id if outcome else NO_ROW,
            "done_status": outcome.status.value if outcome else DeliveryStatus.QUEUED.value,
            "code": outcome.code if outcome else None,
            "reply": (outcome.reply[:2000] if outcome else ""),
            "next_at": outcome.next_attempt_at if outcome else None,
            "done_sent_at": outcome.sent_at if outcome else None,
            "start_id": start_id,
            "start_hash": email_hash(start_email) if start_id != NO_ROW else "",
            "now": now,
        }

    def start(self, delivery_id: int, email: str, now: datetime) -> bool:
        """Write the pending outcome and mark ``delivery_id`` sending; False if it may not go
        (released meanwhile, or its address is suppressed by now)."""
        params = self._params(self.pending, delivery_id, email, now)
        self.pending = None
        if self._raw is not None:
            started = int(self._raw.first_value("step", params) or 0)
        elif self.postgres:
            started = self.connection.execute(self._step, params).scalar_one()
        else:
            self.connection.execute(self._done, params)
            started = self.connection.execute(self._start, params).rowcount
            self.connection.commit()
        return bool(started)

    def record(self, outcome: Outcome, *, defer: bool = True) -> None:
        """Keep ``outcome`` to write with the next start, or write it now."""
        self.pending = outcome
        if not defer:
            self.flush()

    def flush(self) -> None:
        """Write the pending outcome, if any."""
        if self.pending is None:
            return
        params = self._params(self.pending, NO_ROW, "", utcnow())
        self.pending = None
        if self._raw is not None:
            self._raw.first_value("done", params)
            return
        self.connection.execute(self._done, params)
        if not self.postgres:
            self.connection.commit()

    def mailing_status(self, mailing_id: int) -> str | None:
        """The mailing's current status, read on this connection (a cheap check between
        messages: has staff paused or cancelled it?)."""
        if self._raw is not None:
            return self._raw.first_value("status", {"mailing_id": mailing_id})
        status = self.connection.execute(self._status, {"mailing_id": mailing_id}).scalar()
        if not self.postgres:
            self.connection.commit()  # end the read so the next one sees other workers' writes
        return status

    def close(self) -> None:
        """Flush and give the connection back."""
        try:
            self.flush()
        finally:
            self.connection.close()
