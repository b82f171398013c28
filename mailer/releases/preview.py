"""The preview that equals the send: one message as a contact would get it, and the matrix.

`preview_message` renders through the rendering engine with the inputs dispatch uses
(`mailer.releases.messages`), so subject, HTML, text and headers are what would be sent; only
``Date`` (the time of the preview) and ``Message-ID`` (a fixed preview id; a send has one per
delivery) are per send. `preview_matrix` renders every language for up to three sample
recipients and gathers the warnings of each message and each translation.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from flask import current_app
from flask_babel import gettext
from sqlalchemy import func, select

from mailer.contacts.models import Contact
from mailer.db import db
from mailer.errors import MailerError, NotFound
from mailer.releases import service
from mailer.releases.checks import (
    PreviewWarning,
    message_warnings,
    placeholders_used,
    translation_warnings,
)
from mailer.releases.languages import resolve_language
from mailer.releases.links import links_for
from mailer.releases.messages import BUILT_IN_SAMPLE, SampleRecipient, render_preview
from mailer.releases.models import Release
from mailer.rendering import RenderedMessage
from mailer.rendering.placeholders import placeholder_values

# The HTML of a message is shown in a sandboxed frame: no scripts, no forms, nothing fetched
# but images and inline styles.
FRAME_CSP = ("default-src 'none'; img-src 'self' data: https: http:; "
             "style-src 'unsafe-inline'; form-action 'none'; sandbox")
MAX_SAMPLES = 3


@dataclass
class PreviewResult:
    """One rendered preview, with why this language and what to look at."""

    release_id: int
    language: str
    reason: str
    recipient: SampleRecipient
    message: RenderedMessage
    size: int
    warnings: list[PreviewWarning]


def sample_for(contact_id: int | None) -> SampleRecipient:
    """The contact as a preview recipient, or the built-in sample; NotFound for a bad id."""
    if contact_id is None:
        return BUILT_IN_SAMPLE
    contact = db.session.get(Contact, contact_id)
    if contact is None:
        raise NotFound(gettext("No such contact."),
                       fields={"contact_id": gettext("no contact with this id")})
    return SampleRecipient.of_contact(contact)


def choose_language(release: Release, language: str | None,
                    sample: SampleRecipient) -> tuple[str, str]:
    """(language, why): the one asked for, else the contact's resolved one, else the default."""
    available = [t.language for t in release.translations]
    if not available:
        raise NotFound(gettext("This release has no text yet."))
    if language:
        tag = service.normalise_url_language(language)
        if tag not in available:
            raise NotFound(gettext("This release has no translation in %(language)s.",
                                   language=tag),
                           fields={"language": gettext("not translated; there are: %(have)s",
                                                       have=", ".join(available))})
        return tag, "asked for"
    if sample.contact_id is not None:
        resolution = resolve_language(sample.reading_languages, available,
                                      [release.default_language])
        if resolution.language is not None:
            return resolution.language, resolution.reason
    default = release.default_language if release.default_translation else available[0]
    return default, "the release's default language"


def _render(release: Release, language: str, reason: str,
            sample: SampleRecipient) -> PreviewResult:
    config = current_app.config
    message = render_preview(release, language, sample, config)
    translation = release.translation(language)
    assert translation is not None  # noqa: S101  (choose_language checked it)
    used = placeholders_used(translation.subject, translation.preheader, translation.body)
    values = placeholder_values(sample.first_name, sample.last_name, sample.outlet,
                                sample.email)
    warnings = translation_warnings(release, language) + message_warnings(
        message, links_for(config), {name: values[name] for name in sorted(used)})
    return PreviewResult(release.id, language, reason, sample, message,
                         len(message.as_bytes()), warnings)


def preview_message(release_id: int, language: str | None,
                    contact_id: int | None) -> PreviewResult:
    """The message a contact (or the built-in sample) would get, in ``language`` or theirs."""
    release = service.get_release(release_id)
    sample = sample_for(contact_id)
    chosen, reason = choose_language(release, language, sample)
    return _render(release, chosen, reason, sample)


def preview_json(result: PreviewResult) -> dict[str, Any]:
    """``{language, subject, html, text, headers}`` (API.md), plus size, reason and warnings."""
    message = result.message
    return {
        "language": result.language,
        "subject": message.subject,
        "html": message.html,
        "text": message.text,
        "headers": dict(message.headers),
        "contact_id": result.recipient.contact_id,
        "recipient": message.recipient,
        "reason": result.reason,
        "size": result.size,
        "warnings": [{"code": w.code, "message": w.message} for w in result.warnings],
    }


# --- the matrix -----------------------------------------------------------------------------

@dataclass
class MatrixCell:
    """One language for one sample recipient: the preview, or why it failed."""

    sample: SampleRecipient
    result: PreviewResult | None = None
    error: str = ""


@dataclass
class MatrixRow:
    """One language: its translation's warnings and a cell per sample recipient."""

    language: str
    cells: list[MatrixCell] = field(default_factory=list)
    warnings: list[PreviewWarning] = field(default_factory=list)


@dataclass
class Matrix:
    """Every language × the sample recipients, and the languages readers lack."""

    release: Release
    samples: list[SampleRecipient]
    rows: list[MatrixRow]
    missing: list[tuple[str, int]]


def sample_recipients(release: Release, limit: int = MAX_SAMPLES) -> list[SampleRecipient]:
    """Up to ``limit`` contacts, one per language of the release where possible; the built-in
    sample when there are no contacts."""
    chosen: list[Contact] = []
    for language in release.languages:
        if len(chosen) >= limit:
            break
        taken = [c.id for c in chosen]
        contact = db.session.scalar(
            select(Contact).where(Contact.language == language, Contact.id.not_in(taken))
            .order_by(Contact.id).limit(1))
        if contact is not None:
            chosen.append(contact)
    if len(chosen) < limit:
        taken = [c.id for c in chosen]
        chosen += db.session.scalars(select(Contact).where(Contact.id.not_in(taken))
                                     .order_by(Contact.id).limit(limit - len(chosen)))
    return [SampleRecipient.of_contact(c) for c in chosen] or [BUILT_IN_SAMPLE]


def missing_languages(release: Release) -> list[tuple[str, int]]:
    """Languages contacts read first that the release has no translation in, with counts."""
    have = {t.language for t in release.translations}
    counts: Counter[str] = Counter()
    rows = db.session.execute(select(Contact.language, func.count()).where(Contact.language != "")
                              .group_by(Contact.language))
    for language, count in rows:
        if language not in have:
            counts[language] += count
    return counts.most_common()


def preview_matrix(release_id: int) -> Matrix:
    """Every language of the release × up to three sample recipients, with warnings."""
    release = service.get_release(release_id)
    samples = sample_recipients(release)
    rows: list[MatrixRow] = []
    for language in release.languages:
        row = MatrixRow(language, warnings=translation_warnings(release, language))
        for sample in samples:
            try:
                result = _render(release, language, "preview matrix", sample)
            except (MailerError, ValueError) as exc:
                reason = exc.message if isinstance(exc, MailerError) else str(exc)
                row.cells.append(MatrixCell(sample, error=reason))
            else:
                # The translation's own warnings are shown once per row, not per cell.
                result.warnings = [w for w in result.warnings if w not in row.warnings]
                row.cells.append(MatrixCell(sample, result))
        rows.append(row)
    return Matrix(release, samples, rows, missing_languages(release))
