"""Celery tasks of the sending pipeline: thin wrappers over mailer.dispatch.runner."""

from __future__ import annotations

from celery import shared_task

from mailer.dispatch import runner


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
