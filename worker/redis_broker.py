"""The Redis broker: kombu's Redis transport, surviving the loss of Redis with a task in hand.

When Redis goes away while a worker holds an unacknowledged task, the consumer closes its
channel and kombu tries to put the task back on the queue. If the connection was already
released by then, that attempt fails with ``AttributeError`` inside the consumer's error
handling, and Celery stops the whole worker ("Unrecoverable error: AttributeError: 'NoneType'
object has no attribute 'hostname'"): the mailing would wait for someone to restart it.

Here that failed put-back is logged and the worker goes on to reconnect. Nothing is lost: the
task was only a doorbell (the delivery ledger in the database holds the work), and the sweep
re-rings every mailing with work due.
"""

from __future__ import annotations

import logging
from typing import Any

from kombu.transport import redis

log = logging.getLogger(__name__)


class QoS(redis.QoS):
    """Redis QoS whose put-back at channel close cannot stop the worker."""

    def restore_unacked_once(self, stderr: Any = None) -> Any:
        try:
            return super().restore_unacked_once(stderr)
        except AttributeError:
            # kombu released the connection before closing this channel (Redis went away).
            delivered = self._delivered
            log.warning("Redis is gone: %d unacknowledged task(s) not put back; the sweep "
                        "re-rings their mailings", len(delivered or ()))
            if delivered is not None:
                delivered.clear()
                delivered.restored = True  # type: ignore[attr-defined]
            return None


class Channel(redis.Channel):
    """The Redis channel with :class:`QoS`."""

    QoS = QoS


class Transport(redis.Transport):
    """``redis://`` and ``rediss://`` brokers."""

    Channel = Channel
