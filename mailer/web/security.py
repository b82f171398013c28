"""HTTP security headers on every response, and request text no field may hold refused."""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, request
from flask_babel import gettext

from mailer.errors import Invalid

CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'self'",
    "img-src 'self' data:",
    "style-src 'self'",
    "script-src 'self'",
    "frame-src 'self'",
    "form-action 'self'",
    "frame-ancestors 'self'",
    "base-uri 'none'",
    "object-src 'none'",
])


def add_security_headers(response: Response) -> Response:
    """Nosniff, no framing by others, a strict CSP, and no referrer leaks to other sites."""
    headers = response.headers
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Referrer-Policy", "same-origin")
    if response.mimetype == "text/html":
        headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    if "Cache-Control" not in headers and response.mimetype in {"text/html", "application/json"}:
        headers["Cache-Control"] = "no-store"
    return response


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(key) or _has_nul(item) for key, item in value.items())
    if isinstance(value, list | tuple):
        return any(_has_nul(item) for item in value)
    return False


def refuse_nul_characters() -> None:
    """Refuse a NUL character in the path, query, form or JSON body (422 naming the fields):
    no text may hold one, and PostgreSQL cannot store or even compare it."""
    named: list[tuple[str, Any]] = [("path", list((request.view_args or {}).values())),
                                    *request.args.items(multi=True)]
    if request.method not in {"GET", "HEAD", "OPTIONS"}:
        if request.is_json:
            body = request.get_json(silent=True)
            named += list(body.items()) if isinstance(body, dict) else [("body", body)]
        elif request.mimetype in {"application/x-www-form-urlencoded", "multipart/form-data"}:
            named += list(request.form.items(multi=True))
    bad = {(name if "\x00" not in name else "field"): gettext("must not contain a NUL character")
           for name, value in named if _has_nul(name) or _has_nul(value)}
    if bad:
        raise Invalid(gettext("The request holds a NUL character, which no value may contain."),
                      fields=bad)


def init_security_headers(app: Flask) -> None:
    """Add the headers to every response of ``app`` and refuse NUL characters in requests."""
    app.after_request(add_security_headers)
    app.before_request(refuse_nul_characters)
