"""The sending loop one worker runs for one mailing: claim, compose, wait for the rate, send,
record — every step committed, so any number of workers can run it and any can die.

No Flask here beyond the database session: the caller hands in the composer (release →
message bytes), the transport (SMTP or outbox), the limiter and the policy.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import select

from mailer.db import db, utcnow
from mailer.dispatch import ledger
from mailer.dispatch.ledger import ClaimedDelivery, LedgerWriter, Outcome
from mailer.dispatch.models import DeliveryStatus, Mailing, MailingStatus
from mailer.dispatch.ratelimit import Limiter, Rate
from mailer.dispatch.transports import (
    Envelope,
    PermanentFailure,
    SenderRejected,
    TemporaryFailure,
    Transport,
    UnknownOutcome,
)
from mailer.tracking.bounces import record_smtp_rejection
from mailer.tracking.gate import skip_if_suppressed

log = logging.getLogger(__name__)


class Composer(Protocol):
    """Turns one claimed delivery into the envelope and bytes to send."""

    def prepare(self, batch: Sequence[ClaimedDelivery]) -> None:
        """Load what a whole batch needs at once (its contacts)."""

    def compose(self, delivery: ClaimedDelivery) -> Envelope:
        """The message for this recipient; raises ValueError when it cannot be built."""


@dataclass(frozen=True)
class SendPolicy:
    """How a worker paces and retries (from the app's settings)."""

    batch_size: int = 250
    check_every: int = 20
    retry_base: float = 60.0
    retry_cap: float = 6 * 3600.0
    max_attempts: int = 8
    global_rate: Rate | None = None
    domain_rates: dict[str, Rate] = field(default_factory=dict)
    max_rate_wait: float = 2.0
    error_window: int = 50
    error_threshold: float = 0.5
    error_min_samples: int = 20

    def backoff(self, attempts: int) -> timedelta:
        """Delay before the next try after ``attempts`` temporary failures (exponential, capped)."""
        return timedelta(seconds=min(self.retry_cap, self.retry_base * 2 ** max(attempts - 1, 0)))


@dataclass
class RunResult:
    """What one run of the loop did, and whether work remains for another run."""

    sent: int = 0
    failed: int = 0
    deferred: int = 0
    unknown: int = 0
    more: bool = False
    stopped: str = ""


def mailing_status(mailing_id: int) -> str | None:
    """The mailing's current status, read fresh from the database."""
    status = db.session.scalar(select(Mailing.status).where(Mailing.id == mailing_id))
    db.session.commit()  # end the read transaction so the next read sees other workers' changes
    return status


def pause_mailing(mailing_id: int, reason: str) -> None:
    """Pause a sending mailing with a reason staff can read (sender-side rejection, errors)."""
    mailing = db.session.get(Mailing, mailing_id)
    if mailing is not None and mailing.status == MailingStatus.SENDING:
        mailing.status = MailingStatus.PAUSED
        mailing.pause_reason = reason[:2000]
        db.session.commit()
        log.warning("mailing %s paused: %s", mailing_id, reason)


def recipient_domain(address: str) -> str:
    """The domain part of an address, lower-case."""
    return address.rpartition("@")[2].lower()


class Pacer:
    """Applies the global and per-domain rates before each message."""

    def __init__(self, limiter: Limiter | None, policy: SendPolicy,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.limiter = limiter
        self.policy = policy
        self.sleep = sleep

    def wait_for_slot(self, address: str) -> float | None:
        """Wait for a sending slot for ``address``; None when it is too far off (try later)."""
        if self.limiter is None:
            return 0.0
        waits: list[float] = []
        domain = recipient_domain(address)
        checks = [("global", self.policy.global_rate),
                  (f"domain:{domain}", self.policy.domain_rates.get(domain))]
        for key, rate in checks:
            if rate is None:
                continue
            wait = self.limiter.reserve(key, rate, self.policy.max_rate_wait)
            if wait is None:
                return None
            waits.append(wait)
        delay = max(waits, default=0.0)
        if delay:
            self.sleep(delay)
        return delay


def run_batches(mailing_id: int, *, worker: str, composer: Composer, transport: Transport,
                policy: SendPolicy, limiter: Limiter | None = None,
                deadline: float | None = None,
                clock: Callable[[], datetime] = utcnow) -> RunResult:
    """Send due deliveries of one mailing until none is left, the mailing stops being
    ``sending``, or ``deadline`` (a ``time.monotonic()`` value) passes."""
    writer = LedgerWriter()
    try:
        return _run(mailing_id, worker, composer, transport, policy, Pacer(limiter, policy),
                    writer, deadline, clock)
    finally:
        writer.close()


def _run(mailing_id: int, worker: str, composer: Composer, transport: Transport,
         policy: SendPolicy, pacer: Pacer, writer: LedgerWriter, deadline: float | None,
         clock: Callable[[], datetime]) -> RunResult:
    result = RunResult()
    recent: deque[bool] = deque(maxlen=policy.error_window)
    claimed_up_to = 0  # where this run's last claim ended: the next one reads on from there
    while deadline is None or time.monotonic() < deadline:
        if writer.mailing_status(mailing_id) != MailingStatus.SENDING:
            result.stopped = "not sending"
            return result
        batch = ledger.claim_batch(mailing_id, worker, policy.batch_size, now=clock(),
                                   after=claimed_up_to)
        if not batch:
            return result
        # Retries come first in a batch and may lie far ahead; fresh rows were never tried.
        claimed_up_to = max((d.id for d in batch if not d.attempts), default=claimed_up_to)
        composer.prepare(batch)
        position = 0
        try:
            for index, delivery in enumerate(batch):
                position = index
                if index and index % policy.check_every == 0 and \
                        writer.mailing_status(mailing_id) != MailingStatus.SENDING:
                    writer.flush()
                    ledger.release_claims(mailing_id, ids=[d.id for d in batch[index:]])
                    result.stopped = "not sending"
                    return result
                outcome = _send_one(delivery, mailing_id, composer, transport, policy, pacer,
                                    writer, clock, result)
                if outcome == "stop":
                    ledger.release_claims(mailing_id, ids=[d.id for d in batch[index + 1:]])
                    result.stopped = "paused"
                    return result
                if outcome in {"sent", "failed"}:
                    recent.append(outcome == "failed")
                    if _error_rate_too_high(recent, policy):
                        writer.flush()
                        ledger.release_claims(mailing_id, ids=[d.id for d in batch[index + 1:]])
                        pause_mailing(mailing_id, f"Paused automatically: {sum(recent)} of the "
                                                  f"last {len(recent)} messages failed.")
                        result.stopped = "paused"
                        return result
        except BaseException:
            _give_back(mailing_id, batch[position:])
            raise
    result.more = True
    return result


def _give_back(mailing_id: int, untried: Sequence[ClaimedDelivery]) -> None:
    """After an unexpected error mid-batch (the rate limiter's Redis gone, a bug), put the
    deliveries this run claimed and never started back in the queue, so the next doorbell takes
    them at once instead of after the claim timeout. Rows already ``sending`` stay as they are
    (their message may have left). Best effort: when the database itself is the problem, the
    sweep recovers the claims later."""
    try:
        db.session.rollback()
        ledger.release_claims(mailing_id, ids=[d.id for d in untried])
    except Exception:  # the caller re-raises the original error
        log.warning("mailing %s: could not give back %d claimed deliveries; the sweep will",
                    mailing_id, len(untried), exc_info=True)


def send_claimed(batch: Sequence[ClaimedDelivery], mailing_id: int, composer: Composer,
                 transport: Transport, policy: SendPolicy) -> RunResult:
    """Send deliveries already claimed (test sends), whatever the mailing's status."""
    result = RunResult()
    writer = LedgerWriter()
    try:
        for delivery in batch:
            _send_one(delivery, mailing_id, composer, transport, policy, Pacer(None, policy),
                      writer, utcnow, result)
    finally:
        writer.close()
    return result


def _error_rate_too_high(recent: deque[bool], policy: SendPolicy) -> bool:
    return len(recent) >= policy.error_min_samples and \
        sum(recent) / len(recent) > policy.error_threshold


def _send_one(delivery: ClaimedDelivery, mailing_id: int, composer: Composer,
              transport: Transport, policy: SendPolicy, pacer: Pacer, writer: LedgerWriter,
              clock: Callable[[], datetime], result: RunResult) -> str:
    """Send one delivery and record what happened; returns the outcome's name."""
    try:
        envelope = composer.compose(delivery)
    except ValueError as exc:
        writer.record(Outcome(delivery.id, DeliveryStatus.FAILED, reply=f"not composed: {exc}"))
        result.failed += 1
        return "failed"
    if pacer.limiter is not None:
        writer.flush()  # the wait for a slot may be long: do not hold the last outcome back
    if pacer.wait_for_slot(delivery.email) is None:
        # The rate allows no slot soon: give the row back with a time, not a worker's sleep.
        writer.record(Outcome(delivery.id, DeliveryStatus.QUEUED,
                              next_attempt_at=clock() + timedelta(seconds=policy.max_rate_wait)))
        return "postponed"
    if not writer.start(delivery.id, delivery.email, now=clock()):
        # Suppressed since the freeze (an unsubscribe, a bounce): skipped with the reason.
        # Otherwise released by a pause or recovered meanwhile: someone else owns it now.
        return "skipped" if skip_if_suppressed(delivery.id, delivery.email) else "lost"
    attempts = delivery.attempts + 1
    try:
        sent = transport.send(envelope)
    except SenderRejected as exc:
        # The server refuses us, not this recipient: nothing was delivered; pause everything.
        writer.record(Outcome(delivery.id, DeliveryStatus.QUEUED, exc.code, exc.reply),
                      defer=False)
        pause_mailing(mailing_id, f"The mail server refused the sender: {exc.code} {exc.reply}")
        return "stop"
    except TemporaryFailure as exc:
        return _temporary(delivery.id, attempts, exc.code, exc.reply, policy, writer, clock,
                          result)
    except PermanentFailure as exc:
        return _permanent(delivery.id, exc.code, exc.reply, writer, result)
    except UnknownOutcome as exc:
        writer.record(Outcome(delivery.id, DeliveryStatus.UNKNOWN, exc.code, exc.reply))
        result.unknown += 1
        return "unknown"
    refused = sent.refused.get(delivery.email)
    if refused is not None:
        code, reply = refused
        if 400 <= code < 500:
            return _temporary(delivery.id, attempts, code, reply, policy, writer, clock, result)
        return _permanent(delivery.id, code, reply, writer, result)
    code, reply = sent.reply
    writer.record(Outcome(delivery.id, DeliveryStatus.SENT, code, reply, sent_at=clock()))
    result.sent += 1
    return "sent"


def _temporary(delivery_id: int, attempts: int, code: int | None, reply: str,
               policy: SendPolicy, writer: LedgerWriter, clock: Callable[[], datetime],
               result: RunResult) -> str:
    """A 4xx: retry later with backoff, or give up after ``max_attempts``."""
    if attempts >= policy.max_attempts:
        writer.record(Outcome(delivery_id, DeliveryStatus.FAILED, code,
                              f"gave up after {attempts} attempts: {reply}"))
        result.failed += 1
        return "failed"
    writer.record(Outcome(delivery_id, DeliveryStatus.DEFERRED, code, reply,
                          next_attempt_at=clock() + policy.backoff(attempts)))
    result.deferred += 1
    return "deferred"


def _permanent(delivery_id: int, code: int | None, reply: str, writer: LedgerWriter,
               result: RunResult) -> str:
    """A 5xx for the recipient: failed with the reply kept, and a hard bounce for the
    classifier (written first, so the classifier sees the final state)."""
    writer.record(Outcome(delivery_id, DeliveryStatus.FAILED, code, reply), defer=False)
    record_smtp_rejection(delivery_id, code, reply)
    result.failed += 1
    return "failed"
