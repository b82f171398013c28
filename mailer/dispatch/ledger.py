"""The delivery ledger's named queries: claiming, recording outcomes, recovering, counting.

The database is the truth about every recipient; Celery messages only say "there is work".
Each query is shaped so that any number of workers on any number of machines can run it at
once without two of them ever holding the same row:

* ``claim_batch``: one statement, ``UPDATE … WHERE id IN (SELECT … FOR UPDATE SKIP LOCKED)
  RETURNING``. On PostgreSQL concurrent claimers skip each other's rows instead of waiting;
  on SQLite the statement runs under the database's single write lock, which serialises
  claimers just as safely. The claim is committed before any SMTP is spoken.
* ``start_sending`` / ``record_outcome``: the row moves to ``sending`` in a commit of its own
  just before its SMTP transaction, and to its outcome right after the server's reply. So a
  worker killed at any moment leaves ``claimed`` rows (never tried: safe to queue again) or at
  most one ``sending`` row per connection (maybe delivered: ``unknown``, never resent blindly).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, func, or_, select, update

from mailer.db import db, utcnow
from mailer.dispatch.models import CLAIMABLE_STATUSES, OPEN_STATUSES, Delivery, DeliveryStatus


@dataclass(frozen=True)
class ClaimedDelivery:
    """What a worker needs to send one claimed delivery."""

    id: int
    contact_id: int | None
    email: str
    language: str
    message_id: str
    attempts: int


def claim_batch(mailing_id: int, worker: str, size: int, now: datetime | None = None,
                ids: Sequence[int] | None = None) -> list[ClaimedDelivery]:
    """Atomically take up to ``size`` due deliveries of a mailing for ``worker``; commits.

    Test deliveries are only ever claimed by id (``ids``), never with the audience.
    """
    now = now or utcnow()
    due = (
        select(Delivery.id)
        .where(
            Delivery.mailing_id == mailing_id,
            Delivery.status.in_(CLAIMABLE_STATUSES),
            or_(Delivery.next_attempt_at.is_(None), Delivery.next_attempt_at <= now),
            Delivery.id.in_(list(ids)) if ids is not None else Delivery.is_test.is_(False),
        )
        .order_by(Delivery.id)
        .limit(size)
        .with_for_update(skip_locked=True)
    )
    claim = (
        update(Delivery)
        .where(Delivery.id.in_(due.scalar_subquery()))
        .values(status=DeliveryStatus.CLAIMED, claimed_by=worker, claimed_at=now)
        .returning(Delivery.id, Delivery.contact_id, Delivery.email, Delivery.language,
                   Delivery.message_id, Delivery.attempts)
        .execution_options(synchronize_session=False)
    )
    rows = db.session.execute(claim).all()
    db.session.commit()
    return sorted((ClaimedDelivery(*row) for row in rows), key=lambda d: d.id)


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


def recover_abandoned(*, claim_timeout: timedelta, sending_timeout: timedelta,
                      now: datetime | None = None) -> tuple[int, int]:
    """After a worker died: stale claims go back to the queue, stale sends become unknown."""
    now = now or utcnow()
    requeued = db.session.execute(
        update(Delivery)
        .where(Delivery.status == DeliveryStatus.CLAIMED, Delivery.claimed_at < now - claim_timeout)
        .values(status=DeliveryStatus.QUEUED, claimed_by="", claimed_at=None)
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    unknown = db.session.execute(
        update(Delivery)
        .where(Delivery.status == DeliveryStatus.SENDING,
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
