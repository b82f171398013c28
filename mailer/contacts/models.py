"""Journalists, their lists and saved segments, and the suppression list."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, event
from sqlalchemy.engine.interfaces import ExecutionContext
from sqlalchemy.orm import Mapped, Mapper, mapped_column, relationship

from mailer.contacts.validation import email_hash
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


def search_text_for(values: Mapping[str, Any]) -> str:
    """What the contacts search matches: names, address and outlet, case-folded in any script.

    Stored, because SQLite's ``lower()`` folds ASCII only and ``Анна`` must match ``анна``.
    """
    parts = (values.get(name) for name in ("first_name", "last_name", "email", "outlet"))
    return " ".join(str(part) for part in parts if part).casefold()


def _search_text_default(context: ExecutionContext) -> str:
    # Core inserts (bulk imports) get the derived columns from the row's own values.
    return search_text_for(context.get_current_parameters())  # type: ignore[attr-defined]


def _email_hash_default(context: ExecutionContext) -> str:
    params = context.get_current_parameters()  # type: ignore[attr-defined]
    return email_hash(str(params.get("email_key") or params["email"]))


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
    # Derived, kept in step on every ORM write and on Core inserts (see _refresh_derived): the
    # hash joins suppressions through an index; the search text serves ``q``. A Core UPDATE
    # of email or names must set them too, from validation.email_hash and search_text_for.
    email_hash: Mapped[str] = mapped_column(String(64), index=True, default=_email_hash_default)
    search_text: Mapped[str] = mapped_column(Text, default=_search_text_default)

    __table_args__ = (Index("ix_contacts_name", "last_name", "first_name"),)

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


@event.listens_for(Contact, "before_insert")
@event.listens_for(Contact, "before_update")
def _refresh_derived(mapper: Mapper[Contact], connection: Any, target: Contact) -> None:
    """Keep ``email_hash`` and ``search_text`` true to the fields they come from."""
    target.email_hash = email_hash(target.email_key)
    target.search_text = search_text_for({
        "first_name": target.first_name, "last_name": target.last_name,
        "email": target.email, "outlet": target.outlet})


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
