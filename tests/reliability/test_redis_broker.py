"""The Redis broker losing Redis while a task is in hand (worker/redis_broker.py).

When Redis goes away, Celery's consumer first collects the broken connection (which can time out
half-way and leave the transport detached) and then closes it; closing the channel tries to put
the unacknowledged task back, and kombu's own Redis transport then raises ``AttributeError`` —
which Celery treats as unrecoverable and stops the worker. The test builds that state on a real
Redis: a task taken and not acknowledged, Redis stopped, the transport detached, then the close.
"""

from __future__ import annotations

import pytest
from kombu import Connection, Exchange, Queue

from tests.support.services import RedisServer
from worker.celery_app import celery_config


def close_after_losing_redis(redis_server: RedisServer, transport: str) -> None:
    doorbell = Queue("dispatch-test", Exchange("dispatch-test"), "dispatch-test")
    connection = Connection(redis_server.url, transport=transport)
    connection.Producer().publish({"mailing": 1}, exchange=doorbell.exchange,
                                  routing_key="dispatch-test", declare=[doorbell])
    taken: list[object] = []
    consumer = connection.Consumer(doorbell, callbacks=[lambda body, message: taken.append(body)])
    consumer.consume()
    connection.drain_events(timeout=5)
    assert taken == [{"mailing": 1}]  # in hand, not acknowledged
    redis_server.stop()
    try:
        with pytest.raises(Exception):  # noqa: B017 (whatever the driver raises: it is gone)
            connection.drain_events(timeout=1)
        connection._do_close_transport()  # what a collect() cut short by a timeout leaves
        connection.release()
    finally:
        redis_server.start()


def test_kombu_redis_transport_fails_here(redis_server: RedisServer) -> None:
    """The fault is real: without the mended transport the close raises."""
    with pytest.raises(AttributeError):
        close_after_losing_redis(redis_server, "kombu.transport.redis:Transport")


def test_the_mended_transport_closes_and_the_worker_can_reconnect(
        redis_server: RedisServer) -> None:
    close_after_losing_redis(redis_server, "worker.redis_broker:Transport")


def test_redis_brokers_use_the_mended_transport() -> None:
    from flask import Flask

    app = Flask(__name__)
    app.config["MAILER_BROKER_URL"] = "redis://127.0.0.1:6379/0"
    assert celery_config(app)["broker_transport"] == "worker.redis_broker:Transport"
