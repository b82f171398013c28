"""Soft-bounce scores with decay, as GNU Mailman keeps them: a soft bounce adds to a score that
fades, and an address is suppressed once its score reaches the threshold.

The numbers: each soft bounce (a final failure such as a full mailbox or a policy block, not a
"delayed" warning) adds ``SOFT_WEIGHT`` = 1; the score halves every ``SOFT_HALF_LIFE_DAYS`` =
14 days; suppression at ``SOFT_THRESHOLD`` = 2.5. So three soft bounces within about two days
suppress, four on consecutive weekly releases do (1 → 1.71 → 2.21 → 2.56), and an occasional
bounce a month never does (the score settles near 1.3).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from mailer.contacts.validation import email_hash
from mailer.db import db
from mailer.tracking.models import BounceScore

SOFT_WEIGHT = 1.0
SOFT_HALF_LIFE_DAYS = 14.0
SOFT_THRESHOLD = 2.5


def decayed(score: float, since: datetime, now: datetime) -> float:
    """``score`` as it stands at ``now``, having halved every half-life since ``since``."""
    days = max((now - since).total_seconds(), 0.0) / 86400
    return score * 0.5 ** (days / SOFT_HALF_LIFE_DAYS)


def current_score(address: str, now: datetime) -> float:
    """The address's soft-bounce score now (0 when it never soft-bounced)."""
    row = db.session.get(BounceScore, email_hash(address))
    return decayed(row.score, row.updated_at, now) if row is not None else 0.0


def add_soft_bounce(address: str, now: datetime) -> float:
    """Add one soft bounce to the address's score (in the caller's transaction); the new score.

    The row is locked on PostgreSQL (``FOR UPDATE``) so two bounces at once both count.
    """
    key = email_hash(address)
    row = db.session.scalar(select(BounceScore).where(BounceScore.email_hash == key)
                            .with_for_update())
    if row is None:
        row = BounceScore(email_hash=key, score=0.0, updated_at=now, bounces=0)
        db.session.add(row)
    row.score = decayed(row.score, row.updated_at, now) + SOFT_WEIGHT
    row.updated_at = now
    row.bounces += 1
    db.session.flush()
    return row.score
