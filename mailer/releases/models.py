"""Press releases, their translations, each translation's revisions, and attachments."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from mailer.auth.models import User
from mailer.db import Base, UtcDateTime, utcnow


class TranslationStatus(StrEnum):
    """Where a translation stands in review."""

    DRAFT = "draft"
    APPROVED = "approved"


class Release(Base):
    """A press release: written once in its default language, translated into others."""

    __tablename__ = "releases"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(300))
    default_language: Mapped[str] = mapped_column(String(35))
    embargo_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    contact_block: Mapped[str] = mapped_column(Text, default="")
    approvals_required: Mapped[bool] = mapped_column(default=False)
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow, onupdate=utcnow)

    created_by: Mapped[User | None] = relationship(lazy="joined")
    translations: Mapped[list[Translation]] = relationship(
        back_populates="release", cascade="all, delete-orphan", lazy="selectin",
        order_by="Translation.language")
    attachments: Mapped[list[Attachment]] = relationship(
        back_populates="release", cascade="all, delete-orphan", lazy="selectin",
        order_by="Attachment.id")

    def translation(self, language: str) -> Translation | None:
        """The translation in ``language`` (a normalised tag), if there is one."""
        return next((t for t in self.translations if t.language == language), None)

    @property
    def default_translation(self) -> Translation | None:
        """The translation in the default language: the source the others follow."""
        return self.translation(self.default_language)

    @property
    def languages(self) -> list[str]:
        """The languages this release is written in, default language first."""
        others = [t.language for t in self.translations if t.language != self.default_language]
        return ([self.default_language] if self.default_translation else []) + others


class Translation(Base):
    """One language version of a release: subject, preheader and Markdown body.

    ``source_edited_at`` is the default-language translation's ``edited_at`` as it was when
    this translation was last edited (or approved); the translation is *stale* when the
    default-language text has been edited since.
    """

    __tablename__ = "release_translations"

    id: Mapped[int] = mapped_column(primary_key=True)
    release_id: Mapped[int] = mapped_column(ForeignKey("releases.id", ondelete="CASCADE"))
    language: Mapped[str] = mapped_column(String(35))
    subject: Mapped[str] = mapped_column(String(300))
    preheader: Mapped[str] = mapped_column(String(300), default="")
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default=TranslationStatus.DRAFT)
    approved_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True)
    approved_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    edited_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True)
    edited_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    source_edited_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    revision: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)

    release: Mapped[Release] = relationship(back_populates="translations")
    approved_by: Mapped[User | None] = relationship(foreign_keys=[approved_by_id], lazy="joined")
    edited_by: Mapped[User | None] = relationship(foreign_keys=[edited_by_id], lazy="joined")
    revisions: Mapped[list[TranslationRevision]] = relationship(
        back_populates="translation", cascade="all, delete-orphan", lazy="select",
        order_by="TranslationRevision.number.desc()")

    __table_args__ = (UniqueConstraint("release_id", "language",
                                       name="uq_release_translations_release_language"),)

    @property
    def status_enum(self) -> TranslationStatus:
        """The status as an enum."""
        return TranslationStatus(self.status)

    @property
    def approved(self) -> bool:
        """True once a reviewer approved this text and nobody edited it since."""
        return self.status == TranslationStatus.APPROVED

    @property
    def is_default(self) -> bool:
        """True for the release's default-language translation (never stale)."""
        return self.language == self.release.default_language

    @property
    def stale(self) -> bool:
        """True when the default-language text changed after this translation was edited."""
        if self.is_default:
            return False
        source = self.release.default_translation
        if source is None:
            return False
        return self.source_edited_at is None or source.edited_at > self.source_edited_at


class TranslationRevision(Base):
    """A snapshot of a translation as saved once: who, when, the text, and what changed."""

    __tablename__ = "release_translation_revisions"

    id: Mapped[int] = mapped_column(primary_key=True)
    translation_id: Mapped[int] = mapped_column(
        ForeignKey("release_translations.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column()
    author_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True)
    # Kept as text too, so the history still says who after the account is deleted.
    author_email: Mapped[str] = mapped_column(String(320), default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    subject: Mapped[str] = mapped_column(String(300))
    preheader: Mapped[str] = mapped_column(String(300), default="")
    body: Mapped[str] = mapped_column(Text)
    summary: Mapped[str] = mapped_column(String(300), default="")

    translation: Mapped[Translation] = relationship(back_populates="revisions")

    __table_args__ = (UniqueConstraint("translation_id", "number",
                                       name="uq_release_translation_revisions_number"),)


class Attachment(Base):
    """A file attached to a release, kept in the instance folder under a random name."""

    __tablename__ = "release_attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    release_id: Mapped[int] = mapped_column(
        ForeignKey("releases.id", ondelete="CASCADE"), index=True)
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column()
    sha256: Mapped[str] = mapped_column(String(64))
    storage_name: Mapped[str] = mapped_column(String(64), unique=True)
    uploaded_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)

    release: Mapped[Release] = relationship(back_populates="attachments")
