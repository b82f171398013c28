"""The Redis broker losing Redis while a task is in hand (worker/redis_broker.py).

When Redis goes away, Celery's consumer first collects the broken connection (which can time out
half-way and leave the transport detached) and then closes it; closing the channel tries to put
the unacknowledged task back. Later the task finishes and acknowledges itself on that closed
channel. kombu's own Redis transport raises ``AttributeError`` at both points, which Celery
treats as unrecoverable: the worker stops. The tests build those states on a real Redis: a task
taken and not acknowledged, Redis stopped, the transport detached, the close, Redis back, the ack.
"""

from __future__ import annotations

from typing import Any

import pytest
from kombu import Connection, Exchange, Queue
from kombu.transport import redis

from tests.support.services import RedisServer
from worker.celery_app import celery_config

DOORBELL = Queue("dispatch-test", Exchange("dispatch-test"), "dispatch-test")


def ring(url: str, transport: str, body: dict[str, Any]) -> None:
    with Connection(url, transport=transport) as connection:
        connection.Producer().publish(body, exchange=DOORBELL.exchange,
                                      routing_key="dispatch-test", declare=[DOORBELL])


def take(connection: Connection) -> Any:
    """The next doorbell, taken and not acknowledged."""
    taken: list[Any] = []
    consumer = connection.Consumer(DOORBELL, callbacks=[lambda body, message: taken.append(
        (body, message))])
    consumer.consume()
    connection.drain_events(timeout=5)
    assert len(taken) == 1
    return taken[0]


def lose_redis_with_a_task_in_hand(redis_server: RedisServer, transport: str) -> Any:
    """Take a task, lose Redis, close the connection as Celery does; Redis is back after."""
    ring(redis_server.url, transport, {"mailing": 1})
    connection = Connection(redis_server.url, transport=transport)
    body, message = take(connection)
    assert body == {"mailing": 1}
    redis_server.stop()
    try:
        with pytest.raises(Exception):  # noqa: B017 (whatever the driver raises: it is gone)
            connection.drain_events(timeout=1)
        connection._do_close_transport()  # what a collect() cut short by a timeout leaves
        connection.release()
    finally:
        redis_server.start()
    return message


def test_kombu_redis_transport_fails_here(redis_server: RedisServer) -> None:
    """The fault is real: without the mended transport the close raises."""
    with pytest.raises(AttributeError):
        lose_redis_with_a_task_in_hand(redis_server, "kombu.transport.redis:Transport")


def test_the_mended_transport_survives_and_consumes_again(redis_server: RedisServer) -> None:
    transport = "worker.redis_broker:Transport"
    message = lose_redis_with_a_task_in_hand(redis_server, transport)

    # The task finishes after the worker reconnected and acknowledges on the closed channel:
    # kombu's own acknowledgement raises there; the mended one logs and goes on.
    with pytest.raises(AttributeError):
        redis.QoS.ack(message.channel.qos, message.delivery_tag)
    message.ack()

    # A new connection, as the reconnected consumer has, takes the next doorbell.
    ring(redis_server.url, transport, {"mailing": 2})
    with Connection(redis_server.url, transport=transport) as connection:
        body, again = take(connection)
        assert body == {"mailing": 2}
        again.ack()


def test_redis_brokers_use_the_mended_transport() -> None:
    from flask import Flask

    app = Flask(__name__)
    for url in ("redis://127.0.0.1:6379/0", "rediss://127.0.0.1:6380/0"):
        app.config["MAILER_BROKER_URL"] = url
        assert celery_config(app)["broker_transport"] == "worker.redis_broker:Transport"
