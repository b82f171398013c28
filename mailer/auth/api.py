"""REST API of staff identity: who am I, my tokens, and (admins) the staff accounts."""

from __future__ import annotations

from typing import Any

from flask import Blueprint
from flask.typing import ResponseReturnValue
from sqlalchemy import select

from mailer.auth import service
from mailer.auth.models import ApiToken, Role, User
from mailer.auth.policy import requires, signed_in_staff
from mailer.errors import Invalid
from mailer.http import json_body, paged

bp = Blueprint("auth_api", __name__, url_prefix="/api/v1")


def user_json(user: User) -> dict[str, Any]:
    """The public shape of a staff account."""
    return {"id": user.id, "email": user.email, "name": user.name,
            "role": user.role_enum.value, "active": user.active,
            "created_at": user.created_at.isoformat(),
            "last_login_at": user.last_login_at.isoformat() if user.last_login_at else None}


def token_json(token: ApiToken) -> dict[str, Any]:
    """A token as listed: never the secret itself."""
    return {"id": token.id, "name": token.name, "prefix": token.prefix,
            "created_at": token.created_at.isoformat(),
            "last_used_at": token.last_used_at.isoformat() if token.last_used_at else None,
            "revoked_at": token.revoked_at.isoformat() if token.revoked_at else None}


def _string(data: dict[str, Any], name: str, *, required: bool = True, default: str = "") -> str:
    value = data.get(name, None if required else default)
    if value is None:
        raise Invalid(f"{name} is required.", fields={name: "required"})
    if not isinstance(value, str):
        raise Invalid(f"{name} must be a string.", fields={name: "must be a string"})
    return value


@bp.get("/me")
def me() -> ResponseReturnValue:
    """The account this token belongs to."""
    return user_json(signed_in_staff())


@bp.get("/tokens")
@requires(Role.VIEWER)
def list_tokens() -> ResponseReturnValue:
    """My API tokens, revoked ones included."""
    query = select(ApiToken).where(ApiToken.user_id == signed_in_staff().id).order_by(ApiToken.id)
    return paged(query, token_json)


@bp.post("/tokens")
@requires(Role.VIEWER)
def create_token() -> ResponseReturnValue:
    """A new token for me; the secret is in the answer once: ``{..., "token": "mlr_…"}``."""
    data = json_body()
    row, token = service.issue_token(signed_in_staff(), _string(data, "name", required=False,
                                                                default="API token"))
    return {**token_json(row), "token": token}, 201


@bp.delete("/tokens/<int:token_id>")
@requires(Role.VIEWER)
def revoke_token(token_id: int) -> ResponseReturnValue:
    """Revoke one of my tokens (admins: anyone's)."""
    service.revoke_token(signed_in_staff(), token_id)
    return "", 204


@bp.get("/users")
@requires(Role.ADMIN)
def list_users() -> ResponseReturnValue:
    """Every staff account."""
    return paged(select(User).order_by(User.id), user_json)


@bp.post("/users")
@requires(Role.ADMIN)
def create_user() -> ResponseReturnValue:
    """Create a staff account: ``{email, role, password, name?}``."""
    data = json_body()
    user = service.create_user(_string(data, "email"), _string(data, "password"),
                               _string(data, "role"), _string(data, "name", required=False))
    return user_json(user), 201
