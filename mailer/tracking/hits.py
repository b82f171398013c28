"""The open pixel and the click redirect, served in front of Flask for speed.

``/t/o/<token>.gif`` answers a 43-byte GIF; ``/t/c/<token>`` answers 302 to exactly the address
signed into the token. Both put a :class:`Hit` in the process's buffer and return: no session,
no CSRF, no access policy, no database work in the request. That is why they are a small WSGI
app wrapped around Flask's (:class:`TrackingMiddleware`) rather than Flask views: the full
request machinery costs more than everything else these answers do (docs/benchmarks.md).

No open redirect: the target is read from the signed token alone (the query string is never
looked at), must be an absolute ``http``/``https`` address with a host, and a token that does
not verify gets 404. Tokens of previews (delivery 0) answer normally and record nothing.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import timedelta
from typing import Any, cast
from urllib.parse import urlsplit

from flask import Flask
from werkzeug.urls import iri_to_uri

from mailer.releases.links import CLICK_PATH, OPEN_PATH, Links, links_for
from mailer.tracking.buffer import Hit, HitBuffer
from mailer.tracking.models import HitKind
from mailer.tracking.scanners import request_verdict

# The 43-byte transparent GIF nginx's empty_gif serves.
GIF = base64.b64decode("R0lGODlhAQABAIAAAP///wAAACH5BAEAAAAALAAAAAABAAEAAAICRAEAOw==")
NO_CACHE = "no-store, no-cache, must-revalidate, private"
StartResponse = Callable[..., Any]

_GIF_HEADERS = [("Content-Type", "image/gif"), ("Content-Length", str(len(GIF))),
                ("Cache-Control", NO_CACHE), ("Pragma", "no-cache"),
                ("X-Content-Type-Options", "nosniff")]
_NOT_FOUND = b"Not found\n"
_NOT_FOUND_HEADERS = [("Content-Type", "text/plain; charset=utf-8"),
                      ("Content-Length", str(len(_NOT_FOUND))), ("Cache-Control", NO_CACHE),
                      ("X-Content-Type-Options", "nosniff")]


def safe_target(url: str) -> str | None:
    """The address to send a click to, or None when it is not an absolute http(s) URL."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in {"http", "https"} or not parts.hostname:
        return None
    if any(ord(ch) < 32 or ch in "\\ " for ch in url):
        return None
    return iri_to_uri(url) if not url.isascii() else url


def write_hits_in_app(app: Flask) -> Callable[[Sequence[Hit]], None]:
    """The buffer's writer: a batch written in an app context of its own."""
    from mailer.db import db
    from mailer.tracking.events import write_hits

    def write(batch: Sequence[Hit]) -> None:
        window = timedelta(seconds=int(app.config.get("MAILER_SCANNER_SECONDS", 10)))
        with app.app_context():
            try:
                write_hits(batch, window)
            finally:
                db.session.remove()

    return write


def hit_buffer(app: Flask) -> HitBuffer:
    """The app's hit buffer (one per process), made on first use."""
    found = app.extensions.get("tracking_hits")
    if found is None:
        interval = int(app.config.get("MAILER_TRACKING_FLUSH_MS", 200)) / 1000
        found = app.extensions["tracking_hits"] = HitBuffer(write_hits_in_app(app), interval)
    return cast(HitBuffer, found)


class TrackingMiddleware:
    """Answers GET and HEAD under ``/t/o/`` and ``/t/c/``; everything else goes to Flask."""

    def __init__(self, app: Flask, wrapped: Callable[..., Iterable[bytes]]) -> None:
        self.links: Links = links_for(app.config)
        self.buffer = hit_buffer(app)
        self.wrapped = wrapped

    def __call__(self, environ: dict[str, Any], start_response: StartResponse
                 ) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD", "")
        if method in {"GET", "HEAD"}:
            path: str = environ.get("PATH_INFO", "")
            if path.startswith(OPEN_PATH):
                return self.open(path[len(OPEN_PATH):], method, environ, start_response)
            if path.startswith(CLICK_PATH):
                return self.click(path[len(CLICK_PATH):], method, environ, start_response)
        return self.wrapped(environ, start_response)

    def open(self, token: str, method: str, environ: dict[str, Any],
             start_response: StartResponse) -> Iterable[bytes]:
        """The open pixel: the GIF, and a hit for the delivery."""
        ref = self.links.read_open(token) if token.endswith(".gif") else None
        if ref is None:
            return _not_found(method, start_response)
        if ref.delivery_id:
            self._record(HitKind.OPEN, ref.delivery_id, None, method, environ)
        start_response("200 OK", _GIF_HEADERS)
        return [] if method == "HEAD" else [GIF]

    def click(self, token: str, method: str, environ: dict[str, Any],
              start_response: StartResponse) -> Iterable[bytes]:
        """The click redirect: 302 to the signed target, and a hit for the delivery and link."""
        found = self.links.read_click(token)
        target = safe_target(found[1]) if found is not None else None
        if found is None or target is None:
            return _not_found(method, start_response)
        ref, url = found
        if ref.delivery_id:
            self._record(HitKind.CLICK, ref.delivery_id, url, method, environ)
        start_response("302 Found", [("Location", target), ("Content-Length", "0"),
                                     ("Cache-Control", NO_CACHE),
                                     ("Referrer-Policy", "no-referrer"),
                                     ("X-Content-Type-Options", "nosniff")])
        return []

    def _record(self, kind: str, delivery_id: int, url: str | None, method: str,
                environ: dict[str, Any]) -> None:
        agent = environ.get("HTTP_USER_AGENT", "")
        self.buffer.add(Hit(kind, delivery_id, url, time.time(), request_verdict(method, agent),
                            agent[:255]))


def _not_found(method: str, start_response: StartResponse) -> Iterable[bytes]:
    start_response("404 Not Found", _NOT_FOUND_HEADERS)
    return [] if method == "HEAD" else [_NOT_FOUND]


def install(app: Flask) -> None:
    """Put the tracking endpoints in front of the app's WSGI callable (once)."""
    if not isinstance(app.wsgi_app, TrackingMiddleware):
        app.wsgi_app = TrackingMiddleware(app, app.wsgi_app)  # type: ignore[method-assign]
