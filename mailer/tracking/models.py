"""The tracking feature's tables: engagement per delivery, raw hits, links, bounces, scores,
and the journalist's own choices (list opt-outs, wanted languages).

Hot rows are never read-modified-written per hit: hits are appended to ``tracking_events`` and
folded into ``delivery_engagement`` by one aggregated upsert per flushed batch
(`mailer.tracking.events`).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    JSON,
    BigInteger,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from mailer.db import Base, UtcDateTime, utcnow
from mailer.dispatch.models import Delivery

BIG_ID = BigInteger().with_variant(Integer, "sqlite")

# Bounces are matched by Message-ID when no VERP address survives (ARF reports, some MTAs):
# an index on the ledger's column, declared here because only tracking looks rows up by it.
Index("ix_deliveries_message_id", Delivery.__table__.c.message_id)


class HitKind(StrEnum):
    """What a tracking request was."""

    OPEN = "open"
    CLICK = "click"


class BounceKind(StrEnum):
    """How a bounce message is classified (API.md: hard, soft, unknown; plus the extras)."""

    HARD = "hard"
    SOFT = "soft"
    COMPLAINT = "complaint"
    AUTO_REPLY = "auto_reply"
    UNSUBSCRIBE = "unsubscribe"
    UNKNOWN = "unknown"


class TrackedLink(Base):
    """One distinct target address clicked in one mailing (the link table of a report)."""

    __tablename__ = "tracked_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    mailing_id: Mapped[int] = mapped_column(ForeignKey("mailings.id", ondelete="CASCADE"))
    url_hash: Mapped[str] = mapped_column(String(64))
    url: Mapped[str] = mapped_column(Text)

    __table_args__ = (UniqueConstraint("mailing_id", "url_hash",
                                       name="uq_tracked_links_mailing_url"),)


class TrackingEvent(Base):
    """One open or click request, human or scanner: the raw log the charts are drawn from."""

    __tablename__ = "tracking_events"

    id: Mapped[int] = mapped_column(BIG_ID, primary_key=True)
    delivery_id: Mapped[int] = mapped_column(
        BIG_ID, ForeignKey("deliveries.id", ondelete="CASCADE"), index=True)
    mailing_id: Mapped[int] = mapped_column()
    kind: Mapped[str] = mapped_column(String(8))
    link_id: Mapped[int | None] = mapped_column(
        ForeignKey("tracked_links.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(UtcDateTime())
    # Empty for a person; else why it looks automated (head, agent, early, no-agent).
    scanner: Mapped[str] = mapped_column(String(16), default="")
    user_agent: Mapped[str] = mapped_column(String(255), default="")

    __table_args__ = (
        # Reports: a mailing's hits of one kind over time, and its link table.
        Index("ix_tracking_events_mailing_kind_at", "mailing_id", "kind", "at"),
        Index("ix_tracking_events_link", "link_id"),
    )


class DeliveryEngagement(Base):
    """What happened to one delivery after it was sent: opens, clicks, unsubscribe, bounce."""

    __tablename__ = "delivery_engagement"

    delivery_id: Mapped[int] = mapped_column(
        BIG_ID, ForeignKey("deliveries.id", ondelete="CASCADE"), primary_key=True)
    mailing_id: Mapped[int] = mapped_column(index=True)
    opens: Mapped[int] = mapped_column(default=0)
    first_opened_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    last_opened_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    clicks: Mapped[int] = mapped_column(default=0)
    first_clicked_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    last_clicked_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    scanner_opens: Mapped[int] = mapped_column(default=0)
    scanner_clicks: Mapped[int] = mapped_column(default=0)
    unsubscribed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    unsubscribe_scope: Mapped[str] = mapped_column(String(16), default="")
    complained_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    bounce_kind: Mapped[str] = mapped_column(String(16), default="")
    bounced_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    bounce_status: Mapped[str] = mapped_column(String(16), default="")
    bounce_diagnostic: Mapped[str] = mapped_column(Text, default="")


class Bounce(Base):
    """Every bounce, complaint, auto-reply or mailed unsubscribe taken in, with its evidence."""

    __tablename__ = "bounces"

    id: Mapped[int] = mapped_column(primary_key=True)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow, index=True)
    source: Mapped[str] = mapped_column(String(16), default="api")
    kind: Mapped[str] = mapped_column(String(16), default=BounceKind.UNKNOWN)
    matched: Mapped[bool] = mapped_column(default=False)
    matched_by: Mapped[str] = mapped_column(String(16), default="")
    delivery_id: Mapped[int | None] = mapped_column(
        BIG_ID, ForeignKey("deliveries.id", ondelete="SET NULL"), index=True)
    mailing_id: Mapped[int | None] = mapped_column()
    email: Mapped[str] = mapped_column(String(320), default="")
    action: Mapped[str] = mapped_column(String(16), default="")
    status: Mapped[str] = mapped_column(String(16), default="")
    diagnostic: Mapped[str] = mapped_column(Text, default="")
    reporting_mta: Mapped[str] = mapped_column(String(255), default="")
    subject: Mapped[str] = mapped_column(String(255), default="")
    outcome: Mapped[str] = mapped_column(Text, default="")
    # SHA-256 of the raw message: the same bounce taken in twice is applied once.
    digest: Mapped[str] = mapped_column(String(64), unique=True)


class BounceScore(Base):
    """An address's soft-bounce score as of ``updated_at`` (it halves every half-life)."""

    __tablename__ = "bounce_scores"

    email_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    score: Mapped[float] = mapped_column(default=0.0)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    bounces: Mapped[int] = mapped_column(default=0)


class ListOptOut(Base):
    """A journalist's "not this list" from the preference centre; membership itself stays."""

    __tablename__ = "list_opt_outs"

    contact_id: Mapped[int] = mapped_column(
        ForeignKey("contacts.id", ondelete="CASCADE"), primary_key=True)
    list_id: Mapped[int] = mapped_column(
        ForeignKey("contact_lists.id", ondelete="CASCADE"), primary_key=True, index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class ContactPreference(Base):
    """The journalist's own choices: which languages they want releases in (empty: any)."""

    __tablename__ = "contact_preferences"

    contact_id: Mapped[int] = mapped_column(
        ForeignKey("contacts.id", ondelete="CASCADE"), primary_key=True)
    languages: Mapped[list[str]] = mapped_column(JSON, default=list)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow, onupdate=utcnow)
