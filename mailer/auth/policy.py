"""Who may call what: the single place where authentication and roles are enforced.

Every request passes through :func:`enforce_access` before its view runs. The rule for an
endpoint comes from, in order: an explicit mark on the view (:func:`public` or
:func:`requires`), its blueprint's entry in ``BLUEPRINT_ROLES``, and otherwise the method:
reading needs ``viewer``, changing needs ``editor``. So a new view is protected by default.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import Flask, current_app, g, redirect, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext
from flask_login import current_user

from mailer.auth import service
from mailer.auth.models import Role, User
from mailer.errors import Forbidden, Unauthenticated

F = TypeVar("F", bound=Callable[..., Any])

PUBLIC = "public"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

# Blueprints whose every route needs one role, whatever the method.
BLUEPRINT_ROLES: dict[str, Role | str] = {
    "auth": PUBLIC,
    "health": PUBLIC,
    "account": Role.VIEWER,
    "users": Role.ADMIN,
    "audit": Role.ADMIN,
    # Editors may read the sender and rates in force; saving is marked admin-only on the view.
    "settings": Role.EDITOR,
}


def public(view: F) -> F:
    """Mark a view as open to anyone (login page, unsubscribe links, health checks)."""
    view.access_rule = PUBLIC  # type: ignore[attr-defined]
    return view


def requires(role: Role) -> Callable[[F], F]:
    """Mark a view as needing at least ``role`` whatever its method."""

    def mark(view: F) -> F:
        view.access_rule = role  # type: ignore[attr-defined]
        return view

    return mark


def rule_for(endpoint: str, method: str) -> Role | str:
    """The access rule of one endpoint for one HTTP method."""
    if endpoint == "static":
        return PUBLIC
    view = current_app.view_functions.get(endpoint)
    explicit = getattr(view, "access_rule", None)
    if explicit is not None:
        return explicit
    blueprint = endpoint.rpartition(".")[0]
    if blueprint in BLUEPRINT_ROLES:
        return BLUEPRINT_ROLES[blueprint]
    return Role.VIEWER if method in SAFE_METHODS else Role.EDITOR


def bearer_token() -> str | None:
    """The token of an ``Authorization: Bearer`` header, if any."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def current_staff() -> User | None:
    """The staff member making this request, once :func:`enforce_access` has run."""
    return g.get("staff")


def signed_in_staff() -> User:
    """The staff member of a request the policy let through as non-public."""
    user = current_staff()
    if user is None:
        raise Unauthenticated(gettext("Sign in first."))
    return user


def is_api_request() -> bool:
    """True for the REST API, which authenticates with bearer tokens only."""
    return request.path.startswith("/api/")


def enforce_access() -> ResponseReturnValue | None:
    """Before every request: identify the caller and check their role against the rule."""
    g.staff = None
    if request.endpoint is None:  # no route: let Flask answer 404/405
        return None
    if is_api_request():
        token = bearer_token()
        g.staff = service.user_for_token(token) if token else None
    elif current_user.is_authenticated:
        g.staff = current_user._get_current_object()

    rule = rule_for(request.endpoint, request.method)
    if rule == PUBLIC:
        return None
    user = current_staff()
    if user is None:
        if is_api_request():
            raise Unauthenticated("A valid API token is required (Authorization: Bearer …).")
        return redirect(url_for("auth.login", next=safe_next_path(request.full_path)))
    required = Role(rule)
    if not user.role_enum.allows(required):
        raise Forbidden(gettext("This needs the %(required)s role; you are %(role)s.",
                                required=required.value, role=user.role_enum.value))
    return None


def safe_next_path(target: str | None) -> str | None:
    """``target`` if it is a path on this site, else None (no open redirects)."""
    if not target:
        return None
    target = target.rstrip("?")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/"):
        return None
    if target.startswith("//") or "\\" in target or any(ord(ch) < 32 for ch in target):
        return None
    return target


def init_policy(app: Flask) -> None:
    """Install the access check in front of every view."""
    app.before_request(enforce_access)
