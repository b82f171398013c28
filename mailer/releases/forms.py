"""Web forms of releases. They carry values and the CSRF token; the rules live in the service
(``validation.py``), so the web UI and the API refuse exactly the same things."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import BooleanField, HiddenField, StringField, TextAreaField
from wtforms.fields import DateTimeLocalField
from wtforms.validators import Optional

from mailer.contacts.validation import normalise_timezone
from mailer.http import parse_id
from mailer.releases.models import Release


class ActionForm(FlaskForm):
    """A button that changes something: only the CSRF token."""


class ReleaseForm(FlaskForm):
    """A release's own fields."""

    title = StringField(_l("Title (for staff; readers see the subject)"))
    default_language = StringField(_l("Default language (BCP 47, e.g. en, ru, pt-BR)"),
                                   default="en")
    embargo_local = DateTimeLocalField(_l("Embargo until (leave empty for none)"),
                                       format=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"],
                                       validators=[Optional()])
    embargo_timezone = StringField(_l("Embargo time zone (IANA, e.g. Asia/Dushanbe)"),
                                   default="UTC")
    contact_block = TextAreaField(_l("Contact block (who journalists may call)"))
    approvals_required = BooleanField(_l("Translations must be approved before sending"))

    def fill_from(self, release: Release) -> None:
        """Show a release's current values."""
        self.title.data = release.title
        self.default_language.data = release.default_language
        self.embargo_local.data = release.embargo_at.replace(tzinfo=None) \
            if release.embargo_at else None
        self.embargo_timezone.data = "UTC"
        self.contact_block.data = release.contact_block
        self.approvals_required.data = release.approvals_required

    def embargo_value(self) -> str | None:
        """The embargo as ISO 8601 with the zone's offset at that moment, or None."""
        local = self.embargo_local.data
        if local is None:
            if self.embargo_local.raw_data and self.embargo_local.raw_data[0]:
                return str(self.embargo_local.raw_data[0])  # let the rules say why
            return None
        zone = normalise_timezone(self.embargo_timezone.data or "UTC")
        return local.replace(tzinfo=ZoneInfo(zone)).isoformat()

    def payload(self) -> dict[str, Any]:
        """The values in the API's JSON shape, for the same rules (FieldError: bad zone)."""
        return {"title": self.title.data or "",
                "default_language": self.default_language.data or "",
                "embargo_at": self.embargo_value(),
                "contact_block": self.contact_block.data or "",
                "approvals_required": bool(self.approvals_required.data)}


class TranslationForm(FlaskForm):
    """Subject, preheader and body of one translation, and the revision it started from."""

    language = StringField(_l("Language (BCP 47, e.g. ru, kk, pt-BR)"))
    subject = StringField(_l("Subject"))
    preheader = StringField(_l("Preheader (the line inbox lists show after the subject)"))
    body = TextAreaField(_l("Body (Markdown)"))
    base_revision = HiddenField()

    def payload(self) -> dict[str, str]:
        """The text in the API's JSON shape."""
        return {"subject": self.subject.data or "", "preheader": self.preheader.data or "",
                "body": self.body.data or ""}

    def base(self) -> int | None:
        """The revision the editor started from, if the form carried one."""
        raw = (self.base_revision.data or "").strip()
        return parse_id(raw)


class NewReleaseForm(ReleaseForm):
    """A new release with its default-language text."""

    subject = StringField(_l("Subject"))
    preheader = StringField(_l("Preheader"))
    body = TextAreaField(_l("Body (Markdown)"))

    def payload(self) -> dict[str, Any]:
        """The release and its default-language text, in the API's JSON shape."""
        data = super().payload()
        language = data["default_language"].strip()
        if language:
            data["translations"] = {language: {
                "subject": self.subject.data or "", "preheader": self.preheader.data or "",
                "body": self.body.data or ""}}
        return data


class AttachmentForm(FlaskForm):
    """One file to attach."""

    file = FileField(_l("File (PDF, PNG, JPEG, GIF or WebP)"))


__all__ = ["ActionForm", "AttachmentForm", "NewReleaseForm", "ReleaseForm",
           "TranslationForm"]
