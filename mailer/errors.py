"""The one error hierarchy of the product, and the handler that turns errors into responses.

Services raise these; views never call ``abort()``. Under ``/api/`` an error becomes the JSON
shape of shared/API.md, ``{"error": {"code", "message", "fields"}}``; elsewhere a friendly page.
No stack trace ever reaches a client.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING

from flask_babel import gettext
from werkzeug.exceptions import HTTPException

if TYPE_CHECKING:
    from flask import Flask, Response

log = logging.getLogger(__name__)


class MailerError(Exception):
    """Base of every error the product raises on purpose."""

    status = 500
    code = "internal_error"

    def __init__(self, message: str, *, fields: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.fields = dict(fields or {})


class ConfigurationError(MailerError):
    """The environment asks for something the service cannot run with."""

    code = "configuration_error"


class BadRequest(MailerError):
    """The request itself is malformed (unparseable JSON, wrong content type)."""

    status = 400
    code = "bad_request"


class Unauthenticated(MailerError):
    """No credentials, or credentials that match nobody."""

    status = 401
    code = "unauthenticated"


class Forbidden(MailerError):
    """The caller is known but their role may not do this."""

    status = 403
    code = "forbidden"


class NotFound(MailerError):
    """The thing asked for does not exist (or is not the caller's to see)."""

    status = 404
    code = "not_found"


class Conflict(MailerError):
    """The request clashes with the current state, e.g. a duplicate."""

    status = 409
    code = "conflict"


class PayloadTooLarge(MailerError):
    """The upload is bigger than the configured limit."""

    status = 413
    code = "payload_too_large"


class Invalid(MailerError):
    """Values that parse but break a rule; ``fields`` says which and why."""

    status = 422
    code = "invalid"


class TooManyRequests(MailerError):
    """The caller is being throttled."""

    status = 429
    code = "too_many_requests"


HTTP_CODES = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "invalid",
    429: "too_many_requests",
}


def wants_json() -> bool:
    """True for API and other machine-facing paths."""
    from flask import request

    return request.path.startswith("/api/") or request.path == "/healthz"


def error_response(status: int, code: str, message: str,
                   fields: Mapping[str, str] | None = None) -> Response:
    """Render one error as JSON or as an HTML page, depending on who asked."""
    from flask import jsonify, make_response, render_template

    if wants_json():
        body: dict[str, object] = {"code": code, "message": message}
        if fields:
            body["fields"] = dict(fields)
        response = jsonify({"error": body})
    else:
        response = make_response(render_template(
            "web/error.html", status=status, message=message, fields=fields or {}))
    response.status_code = status
    return response


def register_error_handlers(app: Flask) -> None:
    """Install the single error handler for product errors, HTTP errors and crashes."""

    @app.errorhandler(MailerError)
    def handle_mailer_error(error: MailerError) -> Response:
        if error.status >= 500:
            log.error("unhandled product error: %s", error, exc_info=error)
            return error_response(500, "internal_error",
                                  gettext("Something went wrong on our side."))
        response = error_response(error.status, error.code, error.message, error.fields)
        if isinstance(error, Unauthenticated) and wants_json():
            response.headers["WWW-Authenticate"] = 'Bearer realm="mailer"'
        return response

    @app.errorhandler(HTTPException)
    def handle_http_error(error: HTTPException) -> Response:
        status = error.code or 500
        code = HTTP_CODES.get(status, "http_error")
        message = error.description or error.name
        if status == 400 and "CSRF" in message:
            code = "csrf_failed"
            message = gettext("The form expired or was sent from another site. Reload the page "
                              "and retry.")
        response = error_response(status, code, message)
        for name, value in error.get_headers():
            if name in {"Allow", "Retry-After"}:
                response.headers[name] = value
        return response

    @app.errorhandler(Exception)
    def handle_crash(error: Exception) -> Response:
        log.exception("unhandled error on %s", _request_line())
        return error_response(500, "internal_error",
                                  gettext("Something went wrong on our side."))


def _request_line() -> str:
    from flask import request

    return f"{request.method} {request.path}"
