"""The embedded broker under concurrent producers: no half-written message is ever consumed,
and a file that is not a message does not stop the worker (worker/filesystem_broker.py).

kombu's own filesystem transport fails both: its consumer reads a message file that a producer
has created and not yet written, and ``json.loads('')`` stops the worker."""

from __future__ import annotations

import queue
import threading
import time
from pathlib import Path
from typing import Any

from kombu import Connection

from worker.celery_app import broker_transport_options


def channel(instance: Path) -> Any:
    connection = Connection("filesystem://", transport="worker.filesystem_broker:Transport",
                            transport_options=broker_transport_options("filesystem://",
                                                                       instance))
    return connection.default_channel


def test_messages_written_while_a_consumer_polls_are_never_read_half_written(
        tmp_path: Path) -> None:
    total = 3000
    # A big payload widens the window between creating a file and filling it.
    padding = "x" * 20_000

    def produce(start: int) -> None:
        producer = channel(tmp_path)
        for n in range(start, total, 2):
            producer._put("dispatch", {"n": n, "padding": padding})

    producers = [threading.Thread(target=produce, args=(start,)) for start in (0, 1)]
    for thread in producers:
        thread.start()
    consumer = channel(tmp_path)
    got: list[int] = []
    deadline = time.monotonic() + 60
    while len(got) < total and time.monotonic() < deadline:
        try:
            got.append(int(consumer._get("dispatch")["n"]))
        except queue.Empty:
            time.sleep(0.001)
    for thread in producers:
        thread.join()
    assert sorted(got) == list(range(total))


def test_an_unreadable_message_file_is_dropped_and_the_next_one_delivered(
        tmp_path: Path) -> None:
    broker = channel(tmp_path)
    folder = tmp_path / "broker" / "queue"
    # What kombu's own transport leaves when its writer dies between create and write.
    (folder / "0_00000000-0000-0000-0000-000000000000.dispatch.msg").write_bytes(b"")
    broker._put("dispatch", {"n": 7})
    assert broker._get("dispatch") == {"n": 7}
    assert not list(folder.glob("*.msg"))
