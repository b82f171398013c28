"""The Redis broker: kombu's Redis transport, surviving the loss of Redis with a task in hand.

When Redis goes away while a worker holds an unacknowledged task, two things in kombu's Redis
transport raise ``AttributeError``, which Celery treats as unrecoverable and stops the whole
worker — the mailing would then wait for someone to restart it:

- the consumer closes its channel and kombu tries to put the task back on the queue; if the
  connection was already released by then, that fails ("'NoneType' object has no attribute
  'hostname'");
- the task finishes after the worker has reconnected and acknowledges itself on the old,
  closed channel ("'NoneType' object has no attribute 'client'").

Here both are logged and skipped, and the worker goes on. Nothing is lost or sent twice: the
task was only a doorbell (the delivery ledger in the database holds the work, and its atomic
claims make a doorbell rung twice harmless), and the sweep re-rings every mailing with work due.
"""

from __future__ import annotations

import logging
from typing import Any

from kombu.transport import redis, virtual

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


    def ack(self, delivery_tag: Any) -> None:
        try:
            super().ack(delivery_tag)
        except AttributeError:  # the channel was closed with its lost connection
            log.warning("acknowledging a task on a channel closed with a lost connection to "
                        "Redis; skipped")
            virtual.QoS.ack(self, delivery_tag)

    def reject(self, delivery_tag: Any, requeue: bool = False) -> None:
        try:
            super().reject(delivery_tag, requeue=requeue)
        except AttributeError:  # as in ack
            log.warning("rejecting a task on a channel closed with a lost connection to "
                        "Redis; skipped")
            virtual.QoS.ack(self, delivery_tag)


class Channel(redis.Channel):
    """The Redis channel with :class:`QoS`."""

    QoS = QoS


class Transport(redis.Transport):
    """``redis://`` and ``rediss://`` brokers."""

    Channel = Channel
