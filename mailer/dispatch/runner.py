"""What the dispatch tasks do, with the app's settings: freeze, run the pipeline, sweep.

Each function is safe to run twice and at the same time as itself on other workers: the
ledger's atomic claims and committed states are what make that true, not the task queue.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from datetime import timedelta

from flask import current_app
from sqlalchemy import select, update

from mailer.db import db, utcnow
from mailer.dispatch import ledger, service
from mailer.dispatch.compose import InstanceSettings, MailingComposer
from mailer.dispatch.freeze import freeze_audience
from mailer.dispatch.models import Mailing, MailingStatus
from mailer.dispatch.outbound import open_transport
from mailer.dispatch.pipeline import RunResult, SendPolicy, run_batches, send_claimed
from mailer.dispatch.ratelimit import DatabaseLimiter, Limiter, Rate, RedisLimiter
from mailer.releases.models import Release
from mailer.settings.service import effective_config

log = logging.getLogger(__name__)

RUN_SECONDS = 30.0  # one task's share of a mailing, far below the broker's visibility timeout


def claim_timeout() -> timedelta:
    """How long a claimed row may sit untouched before its worker is taken for dead."""
    return timedelta(seconds=float(current_app.config.get("MAILER_CLAIM_TIMEOUT_SECONDS", 120)))


def worker_name() -> str:
    """Who claims rows: host, process and thread, so a dead worker's rows can be told apart."""
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"


def send_policy() -> SendPolicy:
    """The pacing and retry policy from the app's settings (rates as saved by staff)."""
    config = effective_config(current_app.config)
    rate = config.get("MAILER_RATE") or ""
    domains: dict[str, Rate] = {}
    for item in (config.get("MAILER_DOMAIN_RATES") or "").split(","):
        if "=" in item:
            domain, _, spec = item.partition("=")
            domains[domain.strip().lower()] = Rate.parse(spec)
    return SendPolicy(
        batch_size=int(config.get("MAILER_BATCH_SIZE", 250)),
        retry_base=float(config.get("MAILER_RETRY_BASE_SECONDS", 60)),
        retry_cap=float(config.get("MAILER_RETRY_MAX_SECONDS", 6 * 3600)),
        max_attempts=int(config.get("MAILER_MAX_ATTEMPTS", 8)),
        global_rate=Rate.parse(rate) if rate else None,
        domain_rates=domains,
    )


_limiters: dict[str, Limiter] = {}


def limiter(policy: SendPolicy) -> Limiter | None:
    """The shared rate limiter: Redis when Redis is the broker, else the database."""
    if policy.global_rate is None and not policy.domain_rates:
        return None
    broker = current_app.config["MAILER_BROKER_URL"]
    if broker not in _limiters:
        _limiters[broker] = RedisLimiter(broker) if broker.startswith(("redis://", "rediss://")) \
            else DatabaseLimiter()
    return _limiters[broker]


def start_mailing(mailing_id: int) -> None:
    """Freeze the audience if not yet frozen, then ring enough doorbells to send it."""
    mailing = db.session.get(Mailing, mailing_id)
    if mailing is None or mailing.status != MailingStatus.SENDING:
        return
    concurrency = int(current_app.config.get("MAILER_DISPATCH_CONCURRENCY", 2))
    if mailing.frozen_at is None:
        release = db.session.get(Release, mailing.release_id)
        if release is None:
            return
        available = [t.language for t in release.translations]
        rung = False

        def ring_after_first_chunk(_count: int) -> None:
            nonlocal rung
            if not rung:  # the first chunk is committed: start sending while the rest is written
                rung = True
                for _ in range(concurrency):
                    service.enqueue("dispatch.send_batches", mailing_id)

        result = freeze_audience(mailing, available,
                                 domain=current_app.config["MAILER_BOUNCE_DOMAIN"],
                                 on_chunk=ring_after_first_chunk)
        db.session.execute(update(Mailing).where(Mailing.id == mailing_id)
                           .values(frozen_at=utcnow()))
        db.session.commit()
        log.info("mailing %s frozen: %s recipients, skipped %s", mailing_id,
                 result.recipients, result.skipped)
        if rung:
            # Workers may have sent everything before the freeze was marked done: they could
            # not finish the mailing then, so finish it here.
            service.finish_if_done(mailing_id)
            return
    if not service.finish_if_done(mailing_id):
        for _ in range(concurrency):
            service.enqueue("dispatch.send_batches", mailing_id)


def send_batches(mailing_id: int) -> RunResult | None:
    """One worker's turn at a mailing: send for up to RUN_SECONDS, then hand over."""
    mailing = db.session.get(Mailing, mailing_id)
    if mailing is None or mailing.status != MailingStatus.SENDING:
        return None
    policy = send_policy()
    composer = MailingComposer(mailing.id, mailing.release_id,
                               InstanceSettings.from_config(effective_config(current_app.config)),
                               tracking=mailing.tracking)
    with open_transport() as transport:
        result = run_batches(mailing_id, worker=worker_name(), composer=composer,
                             transport=transport, policy=policy, limiter=limiter(policy),
                             deadline=time.monotonic() + RUN_SECONDS)
    if result.more:
        service.enqueue("dispatch.send_batches", mailing_id)
    elif not service.finish_if_done(mailing_id):
        ring_when_due(mailing_id)
    return result


MAX_DOORBELL_DELAY = 300.0  # later retries are left to the sweep, far below any visibility timeout


def ring_when_due(mailing_id: int) -> None:
    """Ask for another run when the earliest deferred delivery is due (the sweep backs this)."""
    due = ledger.next_due(mailing_id)
    if due is None:
        return
    delay = min(max((due - utcnow()).total_seconds(), 0.0) + 0.5, MAX_DOORBELL_DELAY)
    current_app.extensions["celery"].send_task("dispatch.send_batches", args=[mailing_id],
                                               countdown=delay)


def send_tests(mailing_id: int, delivery_ids: list[int]) -> None:
    """Send a mailing's test deliveries now, whatever the mailing's status."""
    mailing = db.session.get(Mailing, mailing_id)
    if mailing is None:
        return
    batch = ledger.claim_batch(mailing_id, worker_name(), len(delivery_ids), ids=delivery_ids)
    if not batch:
        return
    composer = MailingComposer(mailing.id, mailing.release_id,
                               InstanceSettings.from_config(effective_config(current_app.config)),
                               tracking=False)
    composer.prepare(batch)
    with open_transport() as transport:
        send_claimed(batch, mailing_id, composer, transport, send_policy())


def sweep() -> None:
    """Housekeeping every few seconds: recover dead workers' rows, start scheduled mailings,
    re-ring mailings whose doorbell was lost, and finish mailings that are done."""
    # A row in ``sending`` may legitimately wait for the SMTP timeout; give it that much more.
    smtp_timeout = float(current_app.config.get("MAILER_SMTP_TIMEOUT_SECONDS", 30))
    ledger.recover_abandoned(claim_timeout=claim_timeout(),
                             sending_timeout=claim_timeout() + timedelta(seconds=smtp_timeout))
    now = utcnow()
    due = db.session.scalars(select(Mailing.id).where(
        Mailing.status == MailingStatus.SCHEDULED, Mailing.send_at <= now)).all()
    for mailing_id in due:
        db.session.execute(update(Mailing).where(Mailing.id == mailing_id,
                                                 Mailing.status == MailingStatus.SCHEDULED)
                           .values(status=MailingStatus.SENDING, started_at=now))
        db.session.commit()
        service.enqueue("dispatch.start_mailing", mailing_id)
    sending = db.session.scalars(select(Mailing).where(
        Mailing.status == MailingStatus.SENDING)).all()
    for mailing in sending:
        if mailing.frozen_at is None:
            if mailing.started_at and now - mailing.started_at > claim_timeout():
                service.enqueue("dispatch.start_mailing", mailing.id)  # the freeze was lost
            continue
        if service.finish_if_done(mailing.id):
            continue
        if ledger.due_count(mailing.id, now) and not ledger.active_count(mailing.id):
            # Work is due and no worker holds any of it: the doorbell was lost, or deferred
            # deliveries came due. Ring again; an extra ring finds nothing and ends at once.
            service.enqueue("dispatch.send_batches", mailing.id)
