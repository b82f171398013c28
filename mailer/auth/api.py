"""REST API of the caller's own identity: who am I, with which role."""

from __future__ import annotations

from typing import Any

from flask import Blueprint
from flask.typing import ResponseReturnValue

from mailer.auth.models import User
from mailer.auth.policy import signed_in_staff

bp = Blueprint("auth_api", __name__, url_prefix="/api/v1")


def user_json(user: User) -> dict[str, Any]:
    """The public shape of a staff account."""
    return {"id": user.id, "email": user.email, "name": user.name,
            "role": user.role_enum.value, "active": user.active,
            "created_at": user.created_at.isoformat()}


@bp.get("/me")
def me() -> ResponseReturnValue:
    """The account this token belongs to."""
    return user_json(signed_in_staff())
