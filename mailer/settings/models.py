"""Saved instance settings: one row per key, each overriding its MAILER_* environment default."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, String
from sqlalchemy.orm import Mapped, mapped_column

from mailer.db import Base, UtcDateTime, utcnow


class Setting(Base):
    """One saved setting. A key with no row falls back to the environment (listmonk's
    ``settings`` table: key and JSON value, so a new setting needs no migration)."""

    __tablename__ = "settings"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[Any] = mapped_column(JSON, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow, onupdate=utcnow)
    updated_by: Mapped[str] = mapped_column(String(320), default="")
