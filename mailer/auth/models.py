"""Staff accounts, their roles, and their API tokens."""

from __future__ import annotations

import secrets
from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from mailer.db import Base, UtcDateTime, utcnow


class Role(StrEnum):
    """What a staff member may do; each role may do everything the lower ones may."""

    VIEWER = "viewer"
    EDITOR = "editor"
    ADMIN = "admin"

    @property
    def rank(self) -> int:
        """Position in the order viewer < editor < admin."""
        return list(Role).index(self)

    def allows(self, required: Role) -> bool:
        """True when this role is at least ``required``."""
        return self.rank >= required.rank


def new_session_nonce() -> str:
    """A fresh value that, once stored, makes every older session of a user invalid."""
    return secrets.token_urlsafe(16)


class User(Base):
    """A staff member of the press office."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[Role] = mapped_column(String(16), default=Role.VIEWER)
    active: Mapped[bool] = mapped_column(default=True)
    session_nonce: Mapped[str] = mapped_column(String(64), default=new_session_nonce)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    # The staff UI's language (a code in mailer.i18n.UI_LANGUAGES) and IANA time zone;
    # None follows the browser's language and shows times in UTC.
    ui_language: Mapped[str | None] = mapped_column(String(8))
    time_zone: Mapped[str | None] = mapped_column(String(64))

    tokens: Mapped[list[ApiToken]] = relationship(
        back_populates="user", cascade="all, delete-orphan", order_by="ApiToken.id"
    )

    # Flask-Login's user protocol.
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        """Session identity: the id plus the nonce, so rotating the nonce logs out everywhere."""
        return f"{self.id}:{self.session_nonce}"

    @property
    def role_enum(self) -> Role:
        """The role as an enum, whatever the database driver handed back."""
        return Role(self.role)


class ApiToken(Base):
    """A bearer token for the REST API; only its SHA-256 digest is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime())

    user: Mapped[User] = relationship(back_populates="tokens")

    @property
    def active(self) -> bool:
        """True until revoked."""
        return self.revoked_at is None
