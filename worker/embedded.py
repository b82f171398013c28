"""A Celery worker running inside the web process (``mailer run`` with the embedded broker).

It is the same worker code as ``celery worker``: messages are serialised, queued on the
broker, consumed, and acknowledged. Only the process model differs: threads, no prefork.
"""

from __future__ import annotations

import threading
from typing import Any

from celery import Celery
from celery.worker import WorkController

from worker.celery_app import QUEUES


class EmbeddedWorker(WorkController):
    """A WorkController that signals when its consumer is ready."""

    def __init__(self, **kwargs: Any) -> None:
        self.ready = threading.Event()
        super().__init__(**kwargs)

    def on_consumer_ready(self, consumer: object) -> None:
        self.ready.set()


def start_embedded_worker(celery: Celery, *, concurrency: int = 2, beat: bool = True,
                          schedule_filename: str | None = None,
                          ready_timeout: float = 30.0) -> EmbeddedWorker:
    """Start a worker (and the beat scheduler) in a daemon thread; returns once it consumes."""
    worker = EmbeddedWorker(
        app=celery,
        pool="threads",
        concurrency=concurrency,
        queues=list(QUEUES),
        beat=beat,
        schedule_filename=schedule_filename,
        without_heartbeat=True,
        without_mingle=True,
        without_gossip=True,
        loglevel="INFO",
        hostname="embedded@%h",
    )
    thread = threading.Thread(target=worker.start, name="embedded-worker", daemon=True)
    thread.start()
    if not worker.ready.wait(ready_timeout):
        raise RuntimeError("the embedded worker did not start")
    return worker
