"""Writing one chunk while the next is read and validated: a one-slot queue and one thread.

Validation is Python work (address syntax above all) and writing is mostly the database's
work, in another process; overlapping them uses both cores of a small server. The queue holds
at most one chunk, so memory stays at three chunks at most (being read, waiting, being written)
whatever the file's size. Chunks are written in order, each in its own transaction, by the
one thread; the first error stops the writing and is raised in the caller's thread.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from types import TracebackType
from typing import Generic, TypeVar

T = TypeVar("T")


class ChunkPipeline(Generic[T]):
    """Hands chunks to ``write`` on a background thread, in order (module docstring)."""

    def __init__(self, write: Callable[[T], None]) -> None:
        self._write = write
        self._queue: queue.Queue[T | None] = queue.Queue(maxsize=1)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="contact-import-writer",
                                         daemon=True)

    def __enter__(self) -> ChunkPipeline[T]:
        self._thread.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self._queue.put(None)
        self._thread.join()
        if kind is None:
            self._raise_if_failed()

    def submit(self, chunk: T) -> None:
        """Queue a chunk for writing (waits while the previous one is still queued)."""
        self._raise_if_failed()
        self._queue.put(chunk)

    def _raise_if_failed(self) -> None:
        if self._error is not None:
            raise self._error

    def _run(self) -> None:
        while (chunk := self._queue.get()) is not None:
            if self._error is not None:
                continue  # drain without writing, so the producer never blocks
            try:
                self._write(chunk)
            except BaseException as exc:  # noqa: BLE001  (re-raised in the caller's thread)
                self._error = exc
