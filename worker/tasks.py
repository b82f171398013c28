"""Celery tasks: thin wrappers that take ids and plain values and call the services."""

from __future__ import annotations

import logging

from celery import shared_task
from flask import current_app

from mailer.dispatch import test_email
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

