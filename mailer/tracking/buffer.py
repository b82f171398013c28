"""An in-process buffer for tracking hits: requests append, one thread writes them in batches.

Why: a database write per pixel request makes the database the slow part of a burst (100,000
recipients opening within minutes). Appending to a ``deque`` costs well under a microsecond and
needs no lock (``append`` and ``popleft`` are atomic), so request threads never wait for the
writer; the writer wakes every ``interval`` seconds, or sooner when a batch is full, and hands
everything pending to ``write`` in batches of ``BATCH``.

No event is dropped while the process lives: a failed write puts its batch back in front and is
retried after a pause; a normal interpreter exit (``atexit``: gunicorn's graceful stop on
SIGTERM, worker recycling, Ctrl-C) writes what is pending. A process killed outright (SIGKILL,
the OOM killer) loses at most the last ``interval`` of hits — the trade against one round trip
per request. ``interval`` 0 writes each hit in its request.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass

log = logging.getLogger(__name__)

BATCH = 2000
RETRY_PAUSE = 1.0


@dataclass(frozen=True, slots=True)
class Hit:
    """One open or click request, as the view saw it."""

    kind: str
    delivery_id: int
    url: str | None
    at: float
    scanner: str
    user_agent: str


class HitBuffer:
    """Pending hits of one process and the thread that writes them."""

    def __init__(self, write: Callable[[Sequence[Hit]], None], interval: float) -> None:
        self.write = write
        self.interval = interval
        self._pending: deque[Hit] = deque()
        self._wake = threading.Event()
        self._flush_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._pid = 0

    def add(self, hit: Hit) -> None:
        """Queue one hit (or write it at once when the interval is 0)."""
        if self.interval <= 0:
            self.write([hit])
            return
        self._pending.append(hit)
        if self._pid != os.getpid():  # first hit in this process (gunicorn forks after import)
            self._start()
        if len(self._pending) >= BATCH:
            self._wake.set()

    def pending(self) -> int:
        """How many hits wait to be written."""
        return len(self._pending)

    def flush(self) -> int:
        """Write everything pending now; returns how many hits were written."""
        written = 0
        with self._flush_lock:
            while self._pending:
                batch: list[Hit] = []
                while self._pending and len(batch) < BATCH:
                    batch.append(self._pending.popleft())
                try:
                    self.write(batch)
                except Exception:
                    self._pending.extendleft(reversed(batch))  # keep them, in order, for later
                    raise
                written += len(batch)
        return written

    def _start(self) -> None:
        with self._flush_lock:
            if self._pid == os.getpid():
                return
            self._pid = os.getpid()
            self._thread = threading.Thread(target=self._run, name="tracking-writer",
                                             daemon=True)
            self._thread.start()
            atexit.register(self._flush_at_exit)

    def _run(self) -> None:
        while True:
            self._wake.wait(self.interval)
            self._wake.clear()
            try:
                self.flush()
            except Exception:
                log.exception("tracking hits not written yet (%d pending); retrying",
                              len(self._pending))
                time.sleep(RETRY_PAUSE)

    def _flush_at_exit(self) -> None:
        try:
            self.flush()
        except Exception:
            log.exception("%d tracking hits could not be written at exit", len(self._pending))
