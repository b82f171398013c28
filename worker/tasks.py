"""Celery tasks: thin wrappers that take ids and plain values and call the services."""

from __future__ import annotations

import logging

from celery import shared_task
from flask import current_app

from mailer.dispatch import runner, test_email
from mailer.outbox import service as outbox

log = logging.getLogger(__name__)


@shared_task(name="dispatch.send_test_email", acks_late=True)
def send_test_email(address: str, requested_by: str) -> None:
    """Send one test message; errors are logged, a test send is never retried blindly."""
    result = test_email.send_test_email(address, requested_by)
    log.info("test email to %s: %s %s", address, *result.reply)


@shared_task(name="housekeeping.purge_outbox")
def purge_outbox() -> int:
    """Delete outbox messages older than MAILER_OUTBOX_RETENTION_DAYS."""
    removed = outbox.purge_older_than(current_app.config["MAILER_OUTBOX_RETENTION_DAYS"])
    log.info("purged %d outbox messages", removed)
    return removed


@shared_task(name="dispatch.start_mailing", acks_late=True)
def start_mailing(mailing_id: int) -> None:
    """Freeze a mailing's audience (once) and ring the workers to send it."""
    runner.start_mailing(mailing_id)


@shared_task(name="dispatch.send_batches", acks_late=True)
def send_batches(mailing_id: int) -> None:
    """One worker's turn at a mailing; rerunning it sends nothing twice."""
    runner.send_batches(mailing_id)


@shared_task(name="dispatch.send_tests", acks_late=True)
def send_tests(mailing_id: int, delivery_ids: list[int]) -> None:
    """Send a mailing's test deliveries to staff addresses."""
    runner.send_tests(mailing_id, delivery_ids)


@shared_task(name="dispatch.sweep")
def sweep() -> None:
    """Recover, start, re-ring and finish mailings: the database is the truth."""
    runner.sweep()
