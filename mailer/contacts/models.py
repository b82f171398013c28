"""Journalists, their lists and saved segments, and the suppression list."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from mailer.db import Base, UtcDateTime, utcnow


class ContactSource(StrEnum):
    """Where a contact came from, kept for the record."""

    IMPORT = "import"
    API = "api"
    UI = "ui"
    DEMO = "demo"


class SuppressionReason(StrEnum):
    """Why an address must not be mailed."""

    UNSUBSCRIBED = "unsubscribed"
    HARD_BOUNCE = "hard_bounce"
    COMPLAINT = "complaint"
    MANUAL = "manual"
    ERASED = "erased"


class Contact(Base):
    """A journalist: who they are, where they write, which languages they read."""

    __tablename__ = "contacts"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320))
    # Local part as is, domain lower-case punycode: what uniqueness compares (validation.email_key).
    email_key: Mapped[str] = mapped_column(String(320), unique=True)
    first_name: Mapped[str] = mapped_column(String(200), default="")
    last_name: Mapped[str] = mapped_column(String(200), default="")
    outlet: Mapped[str] = mapped_column(String(200), default="", index=True)
    beat: Mapped[str] = mapped_column(String(200), default="")
    role: Mapped[str] = mapped_column(String(200), default="")
    country: Mapped[str] = mapped_column(String(2), default="", index=True)
    language: Mapped[str] = mapped_column(String(35), default="", index=True)
    languages: Mapped[list[str]] = mapped_column(JSON, default=list)
    timezone: Mapped[str] = mapped_column(String(64), default="")
    phone: Mapped[str] = mapped_column(String(40), default="")
    social: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    notes: Mapped[str] = mapped_column(Text, default="")
    tracking: Mapped[bool] = mapped_column(default=True)
    source: Mapped[str] = mapped_column(String(16), default=ContactSource.API)
    source_detail: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow, onupdate=utcnow)

    tag_rows: Mapped[list[ContactTag]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="ContactTag.tag")

    @property
    def tags(self) -> list[str]:
        """The contact's tags, sorted."""
        return [row.tag for row in self.tag_rows]

    @property
    def reading_languages(self) -> list[str]:
        """Every language this journalist reads, most preferred first (primary, then ranked)."""
        ranked = list(self.languages or [])
        if self.language and self.language not in ranked:
            ranked.insert(0, self.language)
        return ranked


class ContactTag(Base):
    """One tag of one contact; a table of its own so filtering by tag uses an index."""

    __tablename__ = "contact_tags"

    contact_id: Mapped[int] = mapped_column(
        ForeignKey("contacts.id", ondelete="CASCADE"), primary_key=True)
    tag: Mapped[str] = mapped_column(String(64), primary_key=True)

    __table_args__ = (Index("ix_contact_tags_tag_contact", "tag", "contact_id"),)


class ContactList(Base):
    """A static list of journalists, chosen by hand or by import."""

    __tablename__ = "contact_lists"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow, onupdate=utcnow)


class ListMember(Base):
    """Membership of a contact in a list."""

    __tablename__ = "list_members"

    list_id: Mapped[int] = mapped_column(
        ForeignKey("contact_lists.id", ondelete="CASCADE"), primary_key=True)
    contact_id: Mapped[int] = mapped_column(
        ForeignKey("contacts.id", ondelete="CASCADE"), primary_key=True, index=True)
    added_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class Segment(Base):
    """A saved filter over contacts, resolved when a mailing's audience is frozen."""

    __tablename__ = "segments"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    filters: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow, onupdate=utcnow)


class Suppression(Base):
    """An address that no mailing may reach, with why and since when.

    Matched by ``email_hash`` (SHA-256 of the address key), so an erased contact's address stays
    suppressed without being kept in clear; ``email`` is empty for those.
    """

    __tablename__ = "suppressions"

    id: Mapped[int] = mapped_column(primary_key=True)
    email_hash: Mapped[str] = mapped_column(String(64), unique=True)
    email: Mapped[str] = mapped_column(String(320), default="")
    reason: Mapped[str] = mapped_column(String(32), default=SuppressionReason.MANUAL)
    detail: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow, index=True)
