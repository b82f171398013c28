"""Staff accounts: creating them, checking passwords, issuing and revoking API tokens.

Owns every rule about who a caller is. Passwords are hashed with Argon2id; API tokens are random
and stored only as SHA-256 digests (they carry 256 bits of entropy, so a fast hash is enough).
"""

from __future__ import annotations

import hashlib
import secrets
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from email_validator import EmailNotValidError, validate_email
from flask import current_app
from flask_babel import gettext
from sqlalchemy import func, select

from mailer.auth.models import ApiToken, Role, User, new_session_nonce
from mailer.db import db, utcnow
from mailer.errors import Conflict, Invalid, NotFound
from mailer.http import parse_id

TOKEN_PREFIX = "mlr_"  # noqa: S105  (a visible marker, not a secret)
MIN_PASSWORD_LENGTH = 10


@cache
def _hasher(fast: bool) -> PasswordHasher:
    # Tests create many users; production keeps argon2-cffi's recommended (RFC 9106) profile.
    if fast:
        return PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    return PasswordHasher()


def password_hasher() -> PasswordHasher:
    """The Argon2id hasher for this app."""
    return _hasher(current_app.config.get("MAILER_ENV") == "testing")


def normalise_staff_email(email: str) -> str:
    """Validate a staff address (syntax only, no DNS) and return it in canonical form."""
    try:
        result = validate_email(email.strip(), check_deliverability=False,
                                test_environment=True)
    except EmailNotValidError as exc:
        raise Invalid(gettext("The email address is not valid."),
                      fields={"email": str(exc)}) from exc
    return result.normalized.lower()


def parse_role(value: str) -> Role:
    """A role from its name, or a 422 naming the allowed ones."""
    try:
        return Role(value.strip().lower())
    except ValueError as exc:
        allowed = ", ".join(role.value for role in Role)
        raise Invalid(gettext("Unknown role."), fields={
            "role": gettext("must be one of %(allowed)s", allowed=allowed)}) from exc


def check_password_rules(password: str) -> None:
    """Refuse passwords too short to be safe."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise Invalid(
            gettext("The password is too short."),
            fields={"password": gettext("must be at least %(n)s characters",
                                        n=MIN_PASSWORD_LENGTH)},
        )


def find_user_by_email(email: str) -> User | None:
    """The account with this address, compared case-insensitively."""
    return db.session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))


def get_user(user_id: int) -> User:
    """The account with this id, or NotFound."""
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound(gettext("No such user."))
    return user


def list_users() -> list[User]:
    """All staff accounts, oldest first."""
    return list(db.session.scalars(select(User).order_by(User.id)))


def count_users() -> int:
    """How many staff accounts exist."""
    return db.session.scalar(select(func.count(User.id))) or 0


def create_user(email: str, password: str, role: Role | str = Role.VIEWER, name: str = "") -> User:
    """Create a staff account; Conflict if the address is taken."""
    address = normalise_staff_email(email)
    role = parse_role(role) if isinstance(role, str) else role
    check_password_rules(password)
    if find_user_by_email(address) is not None:
        raise Conflict(gettext("A user with this email already exists."),
                       fields={"email": gettext("taken")})
    user = User(email=address, name=name.strip(), role=role,
                password_hash=password_hasher().hash(password))
    db.session.add(user)
    db.session.commit()
    return user


def authenticate(email: str, password: str) -> User | None:
    """The active account matching these credentials, or None (same time for unknown users)."""
    user = find_user_by_email(email)
    hasher = password_hasher()
    if user is None:
        # Spend the same effort as a real check, so timing does not reveal who has an account.
        _verify(hasher, _dummy_hash(hasher), password)
        return None
    if not _verify(hasher, user.password_hash, password) or not user.active:
        return None
    if hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hasher.hash(password)
    user.last_login_at = utcnow()
    db.session.commit()
    return user


@cache
def _dummy_hash_for(time_cost: int, memory_cost: int) -> str:
    return PasswordHasher(time_cost=time_cost, memory_cost=memory_cost).hash("not-a-password")


def _dummy_hash(hasher: PasswordHasher) -> str:
    return _dummy_hash_for(hasher.time_cost, hasher.memory_cost)


def _verify(hasher: PasswordHasher, stored: str, password: str) -> bool:
    try:
        return hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


def change_password(user: User, new_password: str) -> None:
    """Set a new password and end every existing session of this user."""
    check_password_rules(new_password)
    user.password_hash = password_hasher().hash(new_password)
    user.session_nonce = new_session_nonce()
    db.session.commit()


def end_all_sessions(user: User) -> None:
    """Invalidate every browser session of this user (on logout, on demand)."""
    user.session_nonce = new_session_nonce()
    db.session.commit()


def update_user(user: User, *, role: Role | str | None = None, active: bool | None = None,
                acting: User | None = None) -> User:
    """Change an account's role or active flag; an admin cannot demote or disable themself."""
    new_role = parse_role(role) if isinstance(role, str) else role
    demotes = (new_role is not None and new_role != Role.ADMIN) or active is False
    if acting is not None and acting.id == user.id and demotes:
        raise Invalid(gettext("You cannot remove your own admin access."),
                      fields={"role": gettext("ask another admin")})
    if new_role is not None:
        user.role = new_role
    if active is not None:
        user.active = active
        if not active:
            user.session_nonce = new_session_nonce()
    db.session.commit()
    return user


def user_for_session(identity: str) -> User | None:
    """The user named by a session identity ``"id:nonce"``, if the nonce is still current."""
    user_id, _, nonce = identity.partition(":")
    uid = parse_id(user_id)
    if uid is None or not nonce:
        return None
    user = db.session.get(User, uid)
    if user is None or not user.active or not secrets.compare_digest(user.session_nonce, nonce):
        return None
    return user


def hash_token(token: str) -> str:
    """The stored form of an API token."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def issue_token(user: User, name: str = "API token") -> tuple[ApiToken, str]:
    """Create an API token for ``user``; returns the row and the token, shown only once."""
    label = name.strip()[:100] or "API token"
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(user=user, name=label, token_hash=hash_token(token),
                   prefix=token[: len(TOKEN_PREFIX) + 6])
    db.session.add(row)
    db.session.commit()
    return row, token


def revoke_token(user: User, token_id: int) -> ApiToken:
    """Revoke one of ``user``'s tokens (admins may revoke anyone's)."""
    row = db.session.get(ApiToken, token_id)
    if row is None or (row.user_id != user.id and not user.role_enum.allows(Role.ADMIN)):
        raise NotFound(gettext("No such token."))
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        db.session.commit()
    return row


def user_for_token(token: str) -> User | None:
    """The active user owning this unrevoked token, recording when it was used."""
    if not token.startswith(TOKEN_PREFIX):
        return None
    row = db.session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(token)))
    if row is None or row.revoked_at is not None or not row.user.active:
        return None
    now = utcnow()
    if row.last_used_at is None or (now - row.last_used_at).total_seconds() > 60:
        row.last_used_at = now  # at most once a minute: no write on every API call
        db.session.commit()
    return row.user
