"""Baselines for benchmarks/tracking.py, served by gunicorn beside the mailer in the same run:

* ``naive()``: a Flask view returning the 43-byte GIF, nothing recorded;
* ``naive_redis()``: the same view plus one Redis ``INCR`` per request (one round trip per hit).

Usage: ``gunicorn --chdir benchmarks 'tracking_baselines:naive()'``; ``BENCH_REDIS_URL`` for the
second.
"""

from __future__ import annotations

import base64
import os
from typing import Any

from flask import Flask, Response

GIF = base64.b64decode("R0lGODlhAQABAIAAAP///wAAACH5BAEAAAAALAAAAAABAAEAAAICRAEAOw==")


def naive() -> Flask:
    """A Flask app that answers every pixel path with the GIF."""
    app = Flask(__name__)

    @app.get("/t/o/<token>")
    def pixel(token: str) -> Response:
        return Response(GIF, mimetype="image/gif", headers={"Cache-Control": "no-store"})

    return app


def naive_redis() -> Flask:
    """The same, counting each request with one Redis INCR."""
    import redis

    client: Any = redis.Redis.from_url(os.environ["BENCH_REDIS_URL"])
    app = Flask(__name__)

    @app.get("/t/o/<token>")
    def pixel(token: str) -> Response:
        client.incr("bench:opens")
        return Response(GIF, mimetype="image/gif", headers={"Cache-Control": "no-store"})

    return app
