"""Bounce intake: one message in, classified, matched to its delivery, applied, and recorded.

Owns what a bounce does. Every message taken in leaves a row in ``bounces`` (kind, status,
diagnostic, how it was matched, what was done): the evidence staff see beside a suppression.

Matching: first the VERP envelope sender the bounce came back to (``bounce+<delivery>-<sig>@``,
signed: a forged or altered one matches nothing and suppresses nobody, and no weaker way is
tried after it), then the original Message-ID against ``deliveries.message_id``. What it does:

* hard bounce → the address is suppressed (``hard_bounce``, the DSN's status, diagnostic and
  time as its detail) and the delivery marked ``bounced``;
* complaint (ARF) → suppressed (``complaint``);
* soft bounce (a final failure; delayed warnings are reported but not scored) → the address's
  score rises by 1; the score halves every ``SOFT_HALF_LIFE_DAYS`` and the address is
  suppressed once it reaches ``SOFT_THRESHOLD`` (see :mod:`mailer.tracking.scoring`);
* auto-replies and unknown messages → recorded, nothing else;
* mail to the ``mailto:`` unsubscribe address → the unsubscribe its token names.

The same message taken in twice (an mbox read again) is applied once: rows are keyed by the
SHA-256 of the raw bytes.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from mailer.contacts.models import SuppressionReason
from mailer.contacts.suppressions import suppress
from mailer.db import db, utcnow
from mailer.dispatch.models import Delivery, DeliveryStatus
from mailer.dispatch.verp import PREFIX, read_verp
from mailer.errors import Invalid
from mailer.releases.links import Links, links_for
from mailer.tracking import scoring
from mailer.tracking.classify import Classification, classify_message, classify_smtp_reply
from mailer.tracking.engagement import mark_bounce, mark_complaint
from mailer.tracking.models import Bounce, BounceKind

log = logging.getLogger(__name__)

MAX_MESSAGE_BYTES = 10 * 1024 * 1024


@dataclass
class Applied:
    """The answer for one bounce message (the API's body)."""

    matched: bool
    delivery_id: int | None
    email: str
    kind: str
    status: str = ""
    diagnostic: str = ""
    matched_by: str = ""
    outcome: str = ""
    duplicate: bool = False
    problems: tuple[str, ...] = ()
    bounce_id: int | None = None

    def as_dict(self) -> dict[str, Any]:
        """API.md's fields first, then the evidence."""
        return {"matched": self.matched, "delivery_id": self.delivery_id, "email": self.email,
                "kind": self.kind, "status": self.status or None,
                "diagnostic": self.diagnostic or None, "matched_by": self.matched_by or None,
                "outcome": self.outcome, "duplicate": self.duplicate,
                "problems": list(self.problems), "bounce_id": self.bounce_id}


@dataclass(frozen=True)
class Secrets:
    """What matching needs from the app's settings."""

    secret_key: str
    links: Links


def secrets_from_config(config: Mapping[str, Any]) -> Secrets:
    """The Secrets of an app's config."""
    return Secrets(str(config["SECRET_KEY"]), links_for(config))


def _match(found: Classification, secret: str) -> tuple[Delivery | None, str, bool]:
    """(delivery, how, forged) for a classified message."""
    forged = False
    for address in found.recipients:
        delivery_id = read_verp(address, secret)
        if delivery_id is not None:
            delivery = db.session.get(Delivery, delivery_id)
            return delivery, "verp" if delivery else "", False
        if address.lower().startswith(PREFIX):
            forged = True
    if forged:
        return None, "", True
    for message_id in found.message_ids:
        # Named query "delivery_by_message_id": one probe of ix_deliveries_message_id.
        delivery = db.session.scalar(select(Delivery).where(Delivery.message_id == message_id)
                                     .limit(1))
        if delivery is not None:
            return delivery, "message-id", False
    return None, "", False


def ingest(raw: bytes, secrets: Secrets, *, source: str = "api", recipient: str | None = None,
           now: datetime | None = None) -> Applied:
    """Take in one raw message: classify, match, apply, record; never raises on its content."""
    now = now or utcnow()
    if len(raw) > MAX_MESSAGE_BYTES:
        raise Invalid("The message is too large.",
                      fields={"message": f"at most {MAX_MESSAGE_BYTES} bytes"})
    digest = hashlib.sha256(raw).hexdigest()
    seen = db.session.scalar(select(Bounce).where(Bounce.digest == digest))
    if seen is not None:
        return Applied(seen.matched, seen.delivery_id, seen.email, seen.kind, seen.status,
                       seen.diagnostic, seen.matched_by, seen.outcome, duplicate=True,
                       bounce_id=seen.id)
    found = classify_message(raw, recipient)
    if found.kind == BounceKind.UNSUBSCRIBE:
        unsubscribed, outcome = _mailto_unsubscribe(found, secrets, now)
        return _record(found, unsubscribed, "token", outcome, digest, source, now)
    delivery, how, forged = _match(found, secrets.secret_key)
    if forged:
        outcome = "forged or altered VERP address: nothing done"
    elif delivery is None:
        outcome = "no delivery matched: nothing done"
    else:
        outcome = _apply(found, delivery, now)
    return _record(found, delivery, how, outcome, digest, source, now)


def record_smtp_rejection(delivery_id: int, code: int | None, reply: str) -> None:
    """Dispatch's hook: a synchronous 5xx for a recipient, applied as a bounce would be.

    Never raises: a failure here must not stop sending (it is logged).
    """
    try:
        delivery = db.session.get(Delivery, delivery_id)
        if delivery is None or delivery.is_test:
            return
        found = classify_smtp_reply(code or 550, reply, delivery.email)
        now = utcnow()
        outcome = _apply(found, delivery, now, mark_bounced=False)
        digest = hashlib.sha256(f"smtp:{delivery_id}:{code}:{reply}".encode()).hexdigest()
        if db.session.scalar(select(Bounce.id).where(Bounce.digest == digest)) is None:
            _record(found, delivery, "smtp", outcome, digest, "smtp", now)
        else:
            db.session.commit()
    except Exception:
        db.session.rollback()
        log.exception("the SMTP rejection of delivery %s was not recorded as a bounce",
                      delivery_id)


def _evidence(found: Classification, now: datetime) -> str:
    parts = [f"{found.kind} bounce" if found.kind != BounceKind.COMPLAINT else "complaint"]
    if found.status:
        parts.append(found.status)
    parts.append(now.isoformat(timespec="seconds"))
    text = " ".join(parts)
    if found.diagnostic:
        text += f": {found.diagnostic}"
    return text[:1000]


def _apply(found: Classification, delivery: Delivery, now: datetime,
           mark_bounced: bool = True) -> str:
    """Act on a matched bounce (in the caller's transaction, committed by the caller)."""
    email = delivery.email
    if found.kind == BounceKind.HARD:
        suppress(email, SuppressionReason.HARD_BOUNCE, _evidence(found, now))
        outcome = "suppressed as a hard bounce"
    elif found.kind == BounceKind.COMPLAINT:
        suppress(email, SuppressionReason.COMPLAINT, _evidence(found, now))
        if not delivery.is_test:
            mark_complaint(delivery.id, delivery.mailing_id, now)
        return "suppressed after a complaint"
    elif found.kind == BounceKind.SOFT and found.scored:
        score = scoring.add_soft_bounce(email, now)
        if score >= scoring.SOFT_THRESHOLD:
            suppress(email, SuppressionReason.HARD_BOUNCE,
                     f"repeated soft bounces (score {score:.2f} ≥ {scoring.SOFT_THRESHOLD}); "
                     f"last: {_evidence(found, now)}")
            outcome = f"soft bounce, score {score:.2f}: suppressed"
        else:
            outcome = f"soft bounce, score {score:.2f} (suppressed at {scoring.SOFT_THRESHOLD})"
    elif found.kind == BounceKind.SOFT:
        outcome = f"{found.action or 'temporary'} notice: not scored"
    else:
        return "recorded only" if found.kind != BounceKind.AUTO_REPLY else "ignored (auto-reply)"
    if delivery.is_test:
        return outcome
    final = found.kind == BounceKind.HARD or found.scored
    if final:
        mark_bounce(delivery.id, delivery.mailing_id, str(found.kind), found.status,
                    found.diagnostic, now)
    if final and mark_bounced:
        db.session.execute(
            update(Delivery)
            .where(Delivery.id == delivery.id,
                   Delivery.status.in_([DeliveryStatus.SENT.value, DeliveryStatus.UNKNOWN.value]))
            .values(status=DeliveryStatus.BOUNCED)
            .execution_options(synchronize_session=False))
    return outcome


def _mailto_unsubscribe(found: Classification, secrets: Secrets, now: datetime
                        ) -> tuple[Delivery | None, str]:
    from mailer.errors import NotFound
    from mailer.tracking.unsubscribe import Method, Scope, recipient_for, unsubscribe

    try:
        recipient = recipient_for(found.token, secrets.links)
    except NotFound:
        return None, "unsubscribe token not valid: nothing done"
    unsubscribe(recipient, Scope.ALL, Method.MAILTO, now)
    return recipient.delivery, f"unsubscribed (mailing {recipient.mailing.id})"


def _record(found: Classification, delivery: Delivery | None, how: str, outcome: str,
            digest: str, source: str, now: datetime) -> Applied:
    delivery_id = delivery.id if delivery is not None else None
    matched = delivery is not None
    email = delivery.email if delivery is not None else found.email
    row = Bounce(received_at=now, source=source, kind=str(found.kind), matched=matched,
                 matched_by=how if matched else "", delivery_id=delivery_id,
                 mailing_id=delivery.mailing_id if delivery is not None else None,
                 email=email[:320], action=found.action[:16], status=found.status[:16],
                 diagnostic=found.diagnostic[:2000], reporting_mta=found.reporting_mta[:255],
                 subject=found.subject[:255],
                 outcome="; ".join([outcome, *found.problems])[:2000], digest=digest)
    db.session.add(row)
    try:
        db.session.commit()
    except IntegrityError:  # the same message taken in concurrently: that one counts
        db.session.rollback()
    return Applied(matched, delivery_id, email, str(found.kind), found.status, found.diagnostic,
                   how if matched else "", outcome, problems=tuple(found.problems),
                   bounce_id=row.id)


def bounces_of_delivery(delivery_id: int) -> list[Bounce]:
    """Every bounce recorded for one delivery, oldest first."""
    return list(db.session.scalars(select(Bounce).where(Bounce.delivery_id == delivery_id)
                                   .order_by(Bounce.id)))
