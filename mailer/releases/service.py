"""Releases and their translations: creating, editing, approving, history and revert.

Owns every rule about a release's text: one translation per language; while a release has
translations, one is in its default language (the source the others follow); a translation is
*stale* once the source changed after it was last edited; any edit sends an approved translation
back to draft; every edit, and every revert, is a numbered revision saying who, when and what
changed. Attachments live in ``attachments.py``; the web and the API both call these functions.
"""

from __future__ import annotations

import difflib
import functools
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

from flask_babel import gettext
from sqlalchemy import Select, func, or_, select
from sqlalchemy.exc import IntegrityError

from mailer.auth.models import User
from mailer.contacts.validation import FieldError
from mailer.db import db, utcnow
from mailer.errors import Conflict, Invalid, MailerError, NotFound
from mailer.releases import attachments as attachment_files
from mailer.releases.models import Release, Translation, TranslationRevision, TranslationStatus
from mailer.releases.validation import (
    UNSET,
    Errors,
    ReleaseInput,
    TranslationInput,
    check_complete,
    check_renders,
    clean_translation,
    language_tag,
)

# --- reading ------------------------------------------------------------------------------


def releases_query(q: str | None = None) -> Select[Release]:
    """Releases, newest first, optionally those whose title or a subject contains ``q``."""
    query = select(Release).order_by(Release.created_at.desc(), Release.id.desc())
    if q and q.strip():
        # Taken literally: % and _ typed by someone match themselves. (SQLite's lower()
        # folds ASCII only, so there Cyrillic matches in the typed case.)
        literal = q.strip().lower().replace("\\", "\\\\").replace("%", "\\%") \
            .replace("_", "\\_")
        pattern = f"%{literal}%"
        subjects = select(Translation.release_id).where(
            func.lower(Translation.subject).like(pattern, escape="\\"))
        query = query.where(or_(func.lower(Release.title).like(pattern, escape="\\"),
                                Release.id.in_(subjects)))
    return query


def get_release(release_id: int) -> Release:
    """The release with this id, or NotFound."""
    release = db.session.get(Release, release_id)
    if release is None:
        raise NotFound(gettext("No such release."))
    return release


def normalise_url_language(language: str) -> str:
    """A language tag from a URL, in standard form; 422 when it is not BCP 47."""
    try:
        return language_tag(language)
    except FieldError as exc:
        raise Invalid(gettext("Not a language tag."), fields={"language": str(exc)}) from exc


def get_translation(release_id: int, language: str) -> Translation:
    """One translation of a release, or NotFound."""
    release = get_release(release_id)
    translation = release.translation(normalise_url_language(language))
    if translation is None:
        raise NotFound(gettext("This release has no translation in %(language)s.",
                               language=language))
    return translation


def list_revisions(release_id: int, language: str) -> list[TranslationRevision]:
    """A translation's revisions, newest first."""
    translation = get_translation(release_id, language)
    return list(db.session.scalars(
        select(TranslationRevision).where(TranslationRevision.translation_id == translation.id)
        .order_by(TranslationRevision.number.desc())))


def get_revision(release_id: int, language: str, number: int) -> TranslationRevision:
    """One revision of a translation, or NotFound."""
    translation = get_translation(release_id, language)
    revision = db.session.scalar(select(TranslationRevision).where(
        TranslationRevision.translation_id == translation.id,
        TranslationRevision.number == number))
    if revision is None:
        raise NotFound(gettext("No revision %(number)s of this translation.", number=number))
    return revision


# --- writing releases -----------------------------------------------------------------------

P = ParamSpec("P")
R = TypeVar("R")


def _all_or_nothing(change: Callable[P, R]) -> Callable[P, R]:
    """Roll back a change refused half-way, so no caller ever sees a half-applied edit."""

    @functools.wraps(change)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return change(*args, **kwargs)
        except MailerError:
            db.session.rollback()
            raise

    return run


@_all_or_nothing
def create_release(data: ReleaseInput, actor: User | None = None) -> Release:
    """Create a release, with its translations, in one transaction."""
    release = Release(title=data.title, default_language=data.default_language,
                      created_by=actor)
    if data.embargo_at is not UNSET:
        release.embargo_at = data.embargo_at
    if data.contact_block is not UNSET:
        release.contact_block = data.contact_block
    if data.approvals_required is not UNSET:
        release.approvals_required = data.approvals_required
    db.session.add(release)
    _apply_translations(release, data.translations, actor)
    _commit()
    return release


@_all_or_nothing
def update_release(release_id: int, data: ReleaseInput, actor: User | None = None) -> Release:
    """Change a release's fields and add, edit or (with None) delete translations at once."""
    release = get_release(release_id)
    for name in ("title", "embargo_at", "contact_block", "approvals_required"):
        value = getattr(data, name)
        if value is not UNSET:
            setattr(release, name, value)
    old_default = release.default_language
    if data.default_language is not UNSET:
        release.default_language = data.default_language
    _apply_translations(release, data.translations, actor)
    if release.default_language != old_default:
        _rebaseline(release)
    release.updated_at = utcnow()
    _commit()
    return release


def delete_release(release_id: int) -> None:
    """Delete a release with its translations, history and attachment files."""
    release = get_release(release_id)
    db.session.delete(release)
    try:
        db.session.commit()
    except IntegrityError as exc:  # mailings keep their release (ON DELETE RESTRICT)
        db.session.rollback()
        raise Conflict(gettext("This release has been mailed; it is kept for the record of "
                               "its mailings.")) from exc
    attachment_files.remove_release_folder(release_id)


def _apply_translations(release: Release, changes: dict[str, TranslationInput | None],
                        actor: User | None) -> None:
    """Apply a request's translation changes; the default language first, so the others
    record the source's new edit time; then check the default-language invariant."""
    errors = Errors()
    existing = {t.language for t in release.translations}
    for language, change in changes.items():
        if change is not None and language not in existing:
            check_complete(change, f"translations.{language}.", errors)
    errors.raise_if_any()

    order = sorted(changes, key=lambda lang: lang != release.default_language)
    for language in order:
        change = changes[language]
        if change is None:
            translation = release.translation(language)
            if translation is not None:
                release.translations.remove(translation)
        else:
            _write_translation(release, language, change.given(), actor,
                               prefix=f"translations.{language}.")
    _check_default_present(release)


def _check_default_present(release: Release) -> None:
    if release.translations and release.default_translation is None:
        have = ", ".join(t.language for t in release.translations)
        raise Invalid(
            gettext("A release with translations needs one in its default language."),
            fields={"default_language": gettext(
                "no translation in %(language)s (there are: %(have)s)",
                language=release.default_language, have=have)})


def _rebaseline(release: Release) -> None:
    """After the default language changed: stale means "edited before the new source was"."""
    source = release.default_translation
    for translation in release.translations:
        if source is None or translation is source:
            continue
        current = translation.edited_at >= source.edited_at
        translation.source_edited_at = source.edited_at if current else None


# --- writing translations -------------------------------------------------------------------

@_all_or_nothing
def save_translation(release_id: int, language: str, fields: TranslationInput,
                     actor: User | None = None, *, base_revision: int | None = None,
                     partial: bool = False) -> tuple[Translation, bool]:
    """Create or replace one translation (``partial``: only the given fields).

    ``base_revision`` is the revision the editor started from: if someone saved since,
    Conflict, rather than silently overwriting their work. Returns (translation, created).
    """
    release = get_release(release_id)
    tag = normalise_url_language(language)
    errors = Errors()
    existing = release.translation(tag)
    clean = clean_translation(fields, "", errors, partial=partial and existing is not None)
    errors.raise_if_any()
    if existing is not None and base_revision is not None and base_revision != existing.revision:
        raise Conflict(
            gettext("This translation was saved by someone else in the meantime; reload it "
                    "and apply your changes again."),
            fields={"base_revision": gettext("the translation is at revision %(revision)s",
                                             revision=existing.revision)})
    translation = _write_translation(release, tag, clean.given(), actor)
    _check_default_present(release)
    release.updated_at = utcnow()
    _commit()
    return translation, existing is None


def delete_translation(release_id: int, language: str) -> None:
    """Delete one translation; the default-language one only when it is the last."""
    translation = get_translation(release_id, language)
    release = translation.release
    if translation.is_default and len(release.translations) > 1:
        raise Conflict(
            gettext("The default-language translation is the source of the others: choose "
                    "another default language before deleting it."),
            fields={"language": gettext("is the release's default language")})
    release.translations.remove(translation)
    release.updated_at = utcnow()
    db.session.commit()


def approve_translation(release_id: int, language: str, actor: User | None) -> Translation:
    """Mark a translation approved; approving confirms it against the current source text,
    so it is no longer stale."""
    translation = get_translation(release_id, language)
    translation.status = TranslationStatus.APPROVED
    translation.approved_by = actor
    translation.approved_at = utcnow()
    source = translation.release.default_translation
    if source is not None and not translation.is_default:
        translation.source_edited_at = source.edited_at
    db.session.commit()
    return translation


def unapprove_translation(release_id: int, language: str) -> Translation:
    """Send a translation back to draft."""
    translation = get_translation(release_id, language)
    _clear_approval(translation)
    db.session.commit()
    return translation


@_all_or_nothing
def revert_translation(release_id: int, language: str, number: int,
                       actor: User | None = None) -> Translation:
    """Restore the text of revision ``number``, as a new revision."""
    revision = get_revision(release_id, language, number)
    translation = revision.translation
    snapshot = {"subject": revision.subject, "preheader": revision.preheader,
                "body": revision.body}
    _write_translation(translation.release, translation.language, snapshot, actor,
                       note=f"reverted to revision {number}", always=True)
    translation.release.updated_at = utcnow()
    _commit()
    return translation


def _write_translation(release: Release, language: str, values: dict[str, str],
                       actor: User | None, *, note: str = "", always: bool = False,
                       prefix: str = "") -> Translation:
    """Set a translation's text; a real change (or ``always``) makes a new revision."""
    translation = release.translation(language)
    now = utcnow()
    merged = {**(_snapshot(translation) if translation else {}), **values}
    check_renders(language, merged, prefix)
    if translation is None:
        translation = Translation(language=language, subject=values["subject"],
                                  preheader=values.get("preheader", ""), body=values["body"],
                                  status=TranslationStatus.DRAFT, revision=0, edited_at=now,
                                  edited_by=actor, created_at=now)
        release.translations.append(translation)
        summary = "created"
    else:
        before = _snapshot(translation)
        after = {**before, **values}
        if after == before and not always:
            return translation
        for name, value in values.items():
            setattr(translation, name, value)
        translation.edited_at = now
        translation.edited_by = actor
        _clear_approval(translation)
        summary = describe_change(before, after)
    if note:
        summary = f"{note}: {summary}" if summary != "no change" else f"{note} (no change)"
    if language != release.default_language:
        source = release.default_translation
        translation.source_edited_at = source.edited_at if source is not None else None
    translation.revision += 1
    translation.revisions.append(TranslationRevision(
        number=translation.revision, author_id=actor.id if actor else None,
        author_email=actor.email if actor else "", created_at=now,
        subject=translation.subject, preheader=translation.preheader, body=translation.body,
        summary=summary[:300]))
    return translation


def _clear_approval(translation: Translation) -> None:
    translation.status = TranslationStatus.DRAFT
    translation.approved_by = None
    translation.approved_at = None


def _snapshot(translation: Translation) -> dict[str, str]:
    return {"subject": translation.subject, "preheader": translation.preheader,
            "body": translation.body}


def describe_change(before: dict[str, str], after: dict[str, str]) -> str:
    """A short "what changed": ``subject and body changed (+3 −1 lines)``."""
    changed = [name for name in ("subject", "preheader", "body") if before[name] != after[name]]
    if not changed:
        return "no change"
    what = changed[0] if len(changed) == 1 else \
        ", ".join(changed[:-1]) + " and " + changed[-1]
    summary = f"{what} changed"
    if "body" in changed:
        added, removed = _line_counts(before["body"].splitlines(), after["body"].splitlines())
        summary += f" (+{added} −{removed} lines)"
    return summary


def _line_counts(old: list[str], new: list[str]) -> tuple[int, int]:
    added = removed = 0
    for line in difflib.unified_diff(old, new, lineterm="", n=0):
        if line.startswith("+") and not line.startswith("+++"):
            added += 1
        elif line.startswith("-") and not line.startswith("---"):
            removed += 1
    return added, removed


def _commit() -> None:
    """Commit; a unique-key race (two saves of one translation at once) becomes a Conflict."""
    try:
        db.session.commit()
    except IntegrityError as exc:
        db.session.rollback()
        raise Conflict(gettext(
            "Someone else changed this release at the same moment; try again.")) from exc


def form_values(translation: Translation | None) -> dict[str, Any]:
    """The current text of a translation as form defaults."""
    if translation is None:
        return {"subject": "", "preheader": "", "body": "", "base_revision": 0}
    return {**_snapshot(translation), "base_revision": translation.revision}


def page_of(query: Select[Release], page: int, per_page: int) -> tuple[list[Release], int]:
    """One page of a releases query and the total count."""
    total = db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    rows = db.session.scalars(query.limit(per_page).offset((page - 1) * per_page)).all()
    return list(rows), total or 0
