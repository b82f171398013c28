"""REST API of general actions: test emails."""

from __future__ import annotations

from flask import Blueprint
from flask.typing import ResponseReturnValue

from mailer.auth.policy import signed_in_staff
from mailer.dispatch import test_email
from mailer.errors import Invalid
from mailer.http import json_body

bp = Blueprint("web_api", __name__, url_prefix="/api/v1")


@bp.post("/test-email")
def send_test_email() -> ResponseReturnValue:
    """Queue a test message: ``{"email": "…"}`` → 202 ``{"queued": "…"}`` (editors and up)."""
    email = json_body().get("email")
    if not isinstance(email, str) or not email.strip():
        raise Invalid("email is required.", fields={"email": "required"})
    address = test_email.queue_test_email(email, requested_by=signed_in_staff().email)
    return {"queued": address}, 202
