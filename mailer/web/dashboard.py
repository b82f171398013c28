"""What the dashboard shows: recent mailings with their figures, releases waiting to go out,
and bounces that need attention.

Owns the dashboard's queries. Each is bounded by a LIMIT and served by an index, so the home
page costs the same with 100,000 journalists as with ten:

* ``dashboard_mailings``: the newest mailings on the primary key; their figures come from the
  dispatch service's ``progress`` (grouped counts over the mailing's ledger rows and on
  ``delivery_engagement.mailing_id``), a handful of grouped queries per mailing;
* ``dashboard_waiting_releases``: the most recently updated releases no mailing has started,
  a NOT EXISTS on ``mailings.release_id``;
* ``dashboard_hard_bounces``: the newest hard bounces on ``bounces.received_at``;
* ``dashboard_bounce_suppressions``: addresses suppressed by hard bounces lately, on
  ``suppressions.created_at``;
* ``dashboard_paused_by_errors``: paused mailings whose reason is not a staff pause, on
  ``mailings.status``;
* whether any journalist or release exists at all (``LIMIT 1``, never a count of contacts).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import and_, exists, func, select

from mailer.contacts.models import Contact, Suppression, SuppressionReason
from mailer.db import db, utcnow
from mailer.dispatch import service as dispatch
from mailer.dispatch.models import Mailing, MailingStatus
from mailer.releases.models import Release
from mailer.tracking.models import Bounce, BounceKind

RECENT_MAILINGS = 5
WAITING_RELEASES = 5
RECENT_BOUNCES = 5
PAUSED_MAILINGS = 5
BOUNCE_WINDOW = timedelta(days=7)
# A release has gone out once any of its mailings got this far.
STARTED = (MailingStatus.SCHEDULED, MailingStatus.SENDING, MailingStatus.PAUSED,
           MailingStatus.SENT)


def _rate(part: int, whole: int) -> float | None:
    return round(100.0 * part / whole, 1) if whole else None


@dataclass(frozen=True)
class MailingFigures:
    """One mailing as the dashboard lists it."""

    mailing: Mailing
    title: str
    recipients: int
    sent: int
    failed: int
    bounced: int
    opened_rate: float | None
    clicked_rate: float | None


@dataclass(frozen=True)
class WaitingRelease:
    """A release no mailing has started yet, and what stands in the way of sending it."""

    release: Release
    missing_default: bool
    stale: list[str] = field(default_factory=list)
    unapproved: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Attention:
    """Bounces and errors that need someone to look."""

    hard_bounces: list[Bounce]
    suppressed_count: int
    suppressed: list[Suppression]
    paused: list[tuple[Mailing, str]]

    @property
    def empty(self) -> bool:
        """True when nothing needs attention."""
        return not (self.hard_bounces or self.suppressed_count or self.paused)


def _titles(release_ids: set[int]) -> dict[int, str]:
    if not release_ids:
        return {}
    rows = db.session.execute(select(Release.id, Release.title)
                              .where(Release.id.in_(release_ids))).all()
    return {row.id: row.title for row in rows}


def recent_mailings(limit: int = RECENT_MAILINGS) -> list[MailingFigures]:
    """Named query ``dashboard_mailings``: the newest mailings and their figures."""
    mailings = db.session.scalars(dispatch.mailings_query().limit(limit)).all()
    titles = _titles({m.release_id for m in mailings})
    rows = []
    for mailing in mailings:
        counts = dispatch.progress(mailing)["counts"]
        # The report's rule (mailer.tracking.reports): rates over messages that reached a
        # server, sent or bounced back.
        reached = counts["sent"] + counts["bounced"]
        rows.append(MailingFigures(
            mailing=mailing, title=titles.get(mailing.release_id, ""),
            recipients=counts["recipients"], sent=counts["sent"], failed=counts["failed"],
            bounced=counts["bounced"],
            opened_rate=_rate(counts["opened"], reached) if mailing.tracking else None,
            clicked_rate=_rate(counts["clicked"], reached) if mailing.tracking else None))
    return rows


def waiting_releases(limit: int = WAITING_RELEASES) -> tuple[list[WaitingRelease], int]:
    """Named query ``dashboard_waiting_releases``: releases not yet sent, most recently
    edited first, with their translation problems; and how many there are in all."""
    started = exists().where(Mailing.release_id == Release.id,
                             Mailing.status.in_([s.value for s in STARTED]))
    releases = db.session.scalars(select(Release).where(~started)
                                  .order_by(Release.updated_at.desc(), Release.id.desc())
                                  .limit(limit)).all()
    total = db.session.scalar(select(func.count(Release.id)).where(~started)) or 0
    waiting = []
    for release in releases:
        others = [t for t in release.translations if not t.is_default]
        waiting.append(WaitingRelease(
            release=release, missing_default=release.default_translation is None,
            stale=[t.language for t in others if t.stale],
            unapproved=[t.language for t in release.translations if not t.approved]
            if release.approvals_required else []))
    return waiting, int(total)


def attention(now: datetime | None = None, limit: int = RECENT_BOUNCES) -> Attention:
    """Named queries ``dashboard_hard_bounces``, ``dashboard_bounce_suppressions`` and
    ``dashboard_paused_by_errors``: what went wrong lately."""
    since = (now or utcnow()) - BOUNCE_WINDOW
    hard = db.session.scalars(
        select(Bounce).where(Bounce.received_at >= since, Bounce.kind == BounceKind.HARD.value)
        .order_by(Bounce.received_at.desc()).limit(limit)).all()
    by_bounce = and_(Suppression.created_at >= since,
                     Suppression.reason == SuppressionReason.HARD_BOUNCE.value)
    suppressed_count = db.session.scalar(select(func.count(Suppression.id)).where(by_bounce))
    suppressed = db.session.scalars(select(Suppression).where(by_bounce)
                                    .order_by(Suppression.created_at.desc()).limit(limit)).all()
    paused = db.session.scalars(
        select(Mailing).where(Mailing.status == MailingStatus.PAUSED.value,
                              Mailing.pause_reason != "",
                              Mailing.pause_reason != dispatch.STAFF_PAUSE_REASON)
        .order_by(Mailing.id.desc()).limit(PAUSED_MAILINGS)).all()
    titles = _titles({m.release_id for m in paused})
    return Attention(hard_bounces=list(hard), suppressed_count=int(suppressed_count or 0),
                     suppressed=list(suppressed),
                     paused=[(m, titles.get(m.release_id, "")) for m in paused])


def has_contacts() -> bool:
    """True once any journalist exists (one index probe, not a count)."""
    return db.session.scalar(select(Contact.id).limit(1)) is not None


def has_releases() -> bool:
    """True once any release exists."""
    return db.session.scalar(select(Release.id).limit(1)) is not None
