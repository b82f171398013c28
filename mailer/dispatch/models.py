"""Mailings (a release sent to an audience) and their delivery ledger, one row per recipient."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from mailer.db import Base, UtcDateTime, utcnow


class MailingStatus(StrEnum):
    """Where a mailing stands (shared/API.md)."""

    DRAFT = "draft"
    SCHEDULED = "scheduled"
    SENDING = "sending"
    PAUSED = "paused"
    SENT = "sent"
    CANCELLED = "cancelled"


class ApprovalStatus(StrEnum):
    """Where a mailing stands in second-person approval (four-eyes sending)."""

    NOT_REQUIRED = "not_required"
    WAITING = "waiting"
    APPROVED = "approved"
    # Approved, but the release, audience or schedule changed since: it needs approving again.
    OUTDATED = "outdated"


class DeliveryStatus(StrEnum):
    """Where one recipient's message stands.

    ``queued → claimed → sending → sent | failed | bounced``, with ``deferred`` (a 4xx; retried
    at ``next_attempt_at``) and ``unknown`` (the connection dropped after the data was sent:
    it may have arrived, so it is never resent blindly). ``claimed`` means a worker owns the row
    but has not yet spoken SMTP for it, so a worker that dies leaves it safe to queue again;
    ``sending`` is committed just before the SMTP transaction, so a death there means unknown.
    """

    QUEUED = "queued"
    CLAIMED = "claimed"
    SENDING = "sending"
    SENT = "sent"
    DEFERRED = "deferred"
    FAILED = "failed"
    BOUNCED = "bounced"
    UNKNOWN = "unknown"
    SKIPPED = "skipped"
    CANCELLED = "cancelled"


OPEN_STATUSES = frozenset({DeliveryStatus.QUEUED, DeliveryStatus.CLAIMED, DeliveryStatus.SENDING,
                           DeliveryStatus.DEFERRED})
CLAIMABLE_STATUSES = (DeliveryStatus.QUEUED.value, DeliveryStatus.DEFERRED.value)

# Percent of each deliveries page filled at the freeze; the rest takes the rows' next versions.
DELIVERIES_FILLFACTOR = 50


class Mailing(Base):
    """A release sent to an audience: what, to whom, when, and how far it got."""

    __tablename__ = "mailings"

    id: Mapped[int] = mapped_column(primary_key=True)
    release_id: Mapped[int] = mapped_column(ForeignKey("releases.id", ondelete="RESTRICT"),
                                            index=True)
    status: Mapped[str] = mapped_column(String(16), default=MailingStatus.DRAFT, index=True)
    list_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    segment_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    exclude_list_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    fallback_languages: Mapped[list[str]] = mapped_column(JSON, default=list)
    send_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    tracking: Mapped[bool] = mapped_column(default=True)
    pause_reason: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[str] = mapped_column(String(320), default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    # Four-eyes sending: such a mailing waits for another editor's approval before it may go.
    requires_approval: Mapped[bool] = mapped_column(default=False)
    approved_by: Mapped[str] = mapped_column(String(320), default="")
    approved_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    started_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    frozen_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    options: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class Delivery(Base):
    """One recipient of one mailing: the ledger row the pipeline moves through its states."""

    __tablename__ = "deliveries"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"),
                                    primary_key=True)
    mailing_id: Mapped[int] = mapped_column(ForeignKey("mailings.id", ondelete="CASCADE"))
    contact_id: Mapped[int | None] = mapped_column(index=True)
    email: Mapped[str] = mapped_column(String(320))
    language: Mapped[str] = mapped_column(String(35), default="")
    language_reason: Mapped[str] = mapped_column(String(200), default="")
    status: Mapped[str] = mapped_column(String(16), default=DeliveryStatus.QUEUED)
    skip_reason: Mapped[str] = mapped_column(String(64), default="")
    is_test: Mapped[bool] = mapped_column(default=False)
    message_id: Mapped[str] = mapped_column(String(255), default="")
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    claimed_by: Mapped[str] = mapped_column(String(100), default="")
    claimed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    smtp_code: Mapped[int | None] = mapped_column()
    smtp_reply: Mapped[str] = mapped_column(Text, default="")

    # No index holds a column that sending changes (status, claimed_*, sent_at, smtp_*): on
    # PostgreSQL each of the three updates a message costs is then a heap-only (HOT) update,
    # which writes no index entry, and the free space the fill factor keeps on every page of
    # frozen rows gives it room to.
    __table_args__ = (
        # Fresh rows are claimed in id order from the mailing's rows (the worker keeps where
        # its last claim ended, so a claim reads a few hundred index entries at any size).
        Index("ix_deliveries_mailing_order", "mailing_id", "id"),
        # Retries and held rows (a local-time window, a rate wait): only they have a time.
        Index("ix_deliveries_due", "mailing_id", "next_attempt_at", "id",
              postgresql_where=text("next_attempt_at IS NOT NULL"),
              sqlite_where=text("next_attempt_at IS NOT NULL")),
        Index("ix_deliveries_mailing_email", "mailing_id", "email"),
        # One delivery per contact per mailing, whatever races a freeze meets (NULL for tests).
        UniqueConstraint("mailing_id", "contact_id", name="uq_deliveries_mailing_contact"),
        {"postgresql_with": {"fillfactor": DELIVERIES_FILLFACTOR}},
    )


class RateLimitState(Base):
    """The theoretical arrival time of one rate limiter (GCRA), for the embedded broker.

    With Redis as broker the same state lives in Redis; this table serves single-host setups.
    """

    __tablename__ = "rate_limits"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    tat: Mapped[float] = mapped_column(default=0.0)
