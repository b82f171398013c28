"""The rules a release and its translations follow, turned into 422s that name every field.

Parsers take raw input (API JSON or web form values) and return plain dataclasses; every broken
rule is collected first, so one 422 lists them all, with names such as ``translations.ru.subject``.
Placeholders are checked by the rendering engine's own validator, so what is saved is exactly
what the engine accepts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flask_babel import gettext

from mailer.contacts.validation import FieldError, normalise_language
from mailer.errors import Invalid
from mailer.releases import placeholders
from mailer.rendering import ReleaseContent, TemplateRejected, compile_release

MAX_TITLE = 300
MAX_SUBJECT = 300
MAX_PREHEADER = 300
MAX_BODY = 200_000
MAX_CONTACT_BLOCK = 4_000
TRANSLATION_FIELDS = ("subject", "preheader", "body")


class Unset:
    """Marks a field that was not given (unlike ``None``, which clears it)."""

    def __repr__(self) -> str:
        return "UNSET"


UNSET: Any = Unset()


@dataclass
class TranslationInput:
    """Subject, preheader and body of one translation; UNSET where not given."""

    subject: Any = UNSET
    preheader: Any = UNSET
    body: Any = UNSET

    def given(self) -> dict[str, str]:
        """The fields that were given, by name."""
        return {name: value for name in TRANSLATION_FIELDS
                if (value := getattr(self, name)) is not UNSET}


@dataclass
class ReleaseInput:
    """The release fields given in one request; ``translations`` maps language to input
    (None: delete that translation)."""

    title: Any = UNSET
    default_language: Any = UNSET
    embargo_at: Any = UNSET
    contact_block: Any = UNSET
    approvals_required: Any = UNSET
    translations: dict[str, TranslationInput | None] = field(default_factory=dict)


class Errors:
    """Collects field errors and raises one Invalid with all of them."""

    def __init__(self) -> None:
        self.fields: dict[str, str] = {}

    def add(self, name: str, reason: str) -> None:
        """Record why ``name`` is invalid (the first reason wins)."""
        self.fields.setdefault(name, reason)

    def raise_if_any(self, message: str | None = None) -> None:
        """Raise Invalid listing every recorded field."""
        if self.fields:
            raise Invalid(message or gettext("Some values are not valid."), fields=self.fields)


def single_line(value: object, limit: int, *, required: bool) -> str:
    """Trimmed text on one line, no control characters (no header injection), ≤ ``limit``."""
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise FieldError(gettext("must be text"))
    text = value.strip()
    if required and not text:
        raise FieldError(gettext("required"))
    if any(ord(ch) < 32 or ord(ch) == 127 or ch in "\u2028\u2029\x85" for ch in text):
        raise FieldError(gettext("must be one line, without control characters"))
    if len(text) > limit:
        raise FieldError(gettext("at most %(n)s characters", n=limit))
    return text


def multi_line(value: object, limit: int, *, required: bool) -> str:
    """Text of several lines with Unix line ends; tabs allowed, other control characters not."""
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise FieldError(gettext("must be text"))
    text = value.replace("\r\n", "\n").replace("\r", "\n").strip("\n").rstrip()
    if required and not text.strip():
        raise FieldError(gettext("required"))
    if any((ord(ch) < 32 and ch not in "\n\t") or ord(ch) == 127 for ch in text):
        raise FieldError(gettext("must not contain control characters"))
    if len(text) > limit:
        raise FieldError(gettext("at most %(n)s characters", n=limit))
    return text


def language_tag(value: object) -> str:
    """A BCP 47 tag in standard form (the contacts' rule, so both sides compare equal)."""
    return normalise_language(value)


def parse_embargo(value: object) -> datetime | None:
    """An ISO 8601 time with a UTC offset, or None; a time without an offset is refused."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise FieldError(gettext(
            "must be an ISO 8601 time with an offset, e.g. 2016-05-31T09:00+05:00"))
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError as exc:
        raise FieldError(gettext("must be an ISO 8601 time with an offset, "
                                 "e.g. 2016-05-31T09:00+05:00")) from exc
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise FieldError(gettext("must include a UTC offset, e.g. +05:00 or Z"))
    return moment


def clean_translation(raw: TranslationInput, prefix: str, errors: Errors, *,
                      partial: bool) -> TranslationInput:
    """Check one translation's fields; missing required ones are errors unless ``partial``."""
    clean = TranslationInput()
    rules = {"subject": (single_line, MAX_SUBJECT, True),
             "preheader": (single_line, MAX_PREHEADER, False),
             "body": (multi_line, MAX_BODY, True)}
    for name, (rule, limit, required) in rules.items():
        value = getattr(raw, name)
        if value is UNSET:
            if required and not partial:
                errors.add(f"{prefix}{name}", gettext("required"))
            elif not partial:
                clean.preheader = ""
            continue
        try:
            text = rule(value, limit, required=required)
        except FieldError as exc:
            errors.add(f"{prefix}{name}", str(exc))
            continue
        problem = placeholders.problem_in(text)
        if problem:
            errors.add(f"{prefix}{name}", problem)
            continue
        setattr(clean, name, text)
    return clean


def translation_from_json(data: object, prefix: str, errors: Errors) -> TranslationInput | None:
    """A TranslationInput from ``{subject, preheader, body}`` (unknown keys are ignored)."""
    if not isinstance(data, Mapping):
        errors.add(prefix.rstrip("."),
                   gettext("must be an object with subject, preheader and body"))
        return None
    return TranslationInput(**{name: data[name] for name in TRANSLATION_FIELDS if name in data})


def release_from_json(data: Mapping[str, Any], *, partial: bool) -> ReleaseInput:
    """Parse and check a release body of the API (``partial`` for PATCH); 422 lists all."""
    errors = Errors()
    result = ReleaseInput()
    if "title" in data or not partial:
        try:
            result.title = single_line(data.get("title"), MAX_TITLE, required=True)
        except FieldError as exc:
            errors.add("title", str(exc))
    if "default_language" in data or not partial:
        try:
            result.default_language = language_tag(data.get("default_language"))
        except FieldError as exc:
            errors.add("default_language", str(exc))
    if "embargo_at" in data:
        try:
            result.embargo_at = parse_embargo(data["embargo_at"])
        except FieldError as exc:
            errors.add("embargo_at", str(exc))
    if "contact_block" in data:
        try:
            # Plain text shown as written (the engine substitutes nothing there).
            result.contact_block = multi_line(data["contact_block"], MAX_CONTACT_BLOCK,
                                              required=False)
        except FieldError as exc:
            errors.add("contact_block", str(exc))
    if "approvals_required" in data:
        if isinstance(data["approvals_required"], bool):
            result.approvals_required = data["approvals_required"]
        else:
            errors.add("approvals_required", gettext("must be true or false"))
    translations = data.get("translations")
    if translations is not None and not isinstance(translations, Mapping):
        errors.add("translations", gettext("must be an object keyed by language"))
    elif translations:
        for key, value in translations.items():
            prefix = f"translations.{key}."
            try:
                language = language_tag(key)
            except FieldError as exc:
                errors.add(f"translations.{key}", str(exc))
                continue
            if language in result.translations:
                errors.add(f"translations.{key}",
                           gettext("given twice (as %(language)s)", language=language))
                continue
            if value is None:
                if not partial:
                    errors.add(f"translations.{key}", gettext("must be an object"))
                result.translations[language] = None
                continue
            raw = translation_from_json(value, prefix, errors)
            if raw is not None:
                # Completeness of a new translation is checked by the service, which knows
                # which translations exist; here only the fields given are checked.
                result.translations[language] = clean_translation(raw, prefix, errors,
                                                                  partial=True)
    errors.raise_if_any()
    return result


def check_complete(translation: TranslationInput, prefix: str, errors: Errors) -> None:
    """A new translation needs a subject and a body."""
    for name in ("subject", "body"):
        if getattr(translation, name) is UNSET:
            errors.add(f"{prefix}{name}", gettext("required"))


def translation_from_payload(data: object) -> TranslationInput:
    """A TranslationInput from a JSON or form object; 422 when it is not an object."""
    errors = Errors()
    fields = translation_from_json(data, "", errors)
    errors.raise_if_any()
    return fields or TranslationInput()


def check_renders(language: str, values: Mapping[str, str], prefix: str = "") -> None:
    """Compile the text as the engine will, so what it would refuse is refused on save
    (e.g. a placeholder inside a link address); 422 naming ``prefix`` + the field."""
    content = ReleaseContent(language=language, subject=values["subject"],
                             preheader=values.get("preheader", ""), body=values["body"])
    try:
        compile_release(content)
    except TemplateRejected as exc:
        fields = {f"{prefix}{name}": reason for name, reason in exc.fields.items()}
        raise Invalid(exc.message, fields=fields or {f"{prefix}body": exc.message}) from exc
