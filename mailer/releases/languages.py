"""Which language each recipient gets, and why: the rule, and a summary over an audience.

The rule (issue 4, item 2): the recipient's ranked reading languages first, then the mailing's
fallback chain, then nothing. A ranked tag also matches a translation in a less specific tag
(RFC 4647 "lookup": a reader of ``pt-BR`` or ``ru-KZ`` gets ``pt`` or ``ru``), never a more
specific or sibling one (a reader of ``uz`` is not sent ``uz-Cyrl``).

``resolve_language`` is a pure function; ``audience_language_summary`` resolves a whole audience
in one pass, computing each distinct combination of reading languages once.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from flask_babel import gettext, ngettext

Source = Literal["ranked", "fallback", "none"]
MAX_LISTED_WITHOUT = 50


@dataclass(frozen=True)
class Resolution:
    """The language a recipient gets (None: no usable one) and a short reason for a person."""

    language: str | None
    reason: str
    source: Source = "none"

    @property
    def usable(self) -> bool:
        """True when the recipient can be sent something."""
        return self.language is not None


def ordinal(n: int) -> str:
    """1st, 2nd, 3rd, 4th, 11th, 21st …"""
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _lookup(tag: str, available: Mapping[str, str]) -> str | None:
    """RFC 4647 lookup: ``tag`` itself, then ever shorter prefixes (``zh-Hant-TW`` → ``zh``)."""
    parts = tag.lower().split("-")
    while parts:
        found = available.get("-".join(parts))
        if found is not None:
            return found
        parts.pop()
        # A single-letter subtag (extension or private-use marker) never ends a prefix.
        if parts and len(parts[-1]) == 1:
            parts.pop()
    return None


def _unique(tags: Iterable[str]) -> list[str]:
    seen: dict[str, str] = {}
    for tag in tags:
        if tag and tag.lower() not in seen:
            seen[tag.lower()] = tag
    return list(seen.values())


def resolve_language(reading_languages: Sequence[str], available_languages: Collection[str],
                     fallback_chain: Sequence[str] = ()) -> Resolution:
    """The language for one recipient: ranked languages, then the fallback chain, then none."""
    available = {tag.lower(): tag for tag in available_languages}
    ranked = _unique(reading_languages)
    for rank, tag in enumerate(ranked, start=1):
        found = _lookup(tag, available)
        if found is None:
            continue
        reason = f"ranked {ordinal(rank)}"
        if found.lower() != tag.lower():
            reason += f" ({tag} read as {found})"
        missed = ranked[:rank - 1]
        if missed:
            reason += f"; {', '.join(missed)} not translated"
        return Resolution(found, reason, "ranked")

    why = f"no translation in {', '.join(ranked)}" if ranked else "no reading language on record"
    for tag in _unique(fallback_chain):
        found = _lookup(tag, available)
        if found is not None:
            return Resolution(found, f"fallback to {found}: {why}", "fallback")
    if fallback_chain:
        chain = ", ".join(_unique(fallback_chain))
        return Resolution(None, f"no usable language: {why}, nor in the fallbacks {chain}")
    return Resolution(None, f"no usable language: {why} and no fallback")


@dataclass(frozen=True)
class Unresolved:
    """A recipient with no usable language, as listed in an audience summary."""

    contact_id: int | None
    email: str
    languages: tuple[str, ...]
    reason: str


@dataclass
class AudienceSummary:
    """How an audience splits by language: counts, fallbacks, and who has none."""

    total: int = 0
    languages: Counter[str] = field(default_factory=Counter)
    fallbacks: Counter[str] = field(default_factory=Counter)
    without_language: int = 0
    # The reading languages of those without a usable one: what a 422 lists ("kk: 3").
    missing_languages: Counter[str] = field(default_factory=Counter)
    without_examples: list[Unresolved] = field(default_factory=list)
    # Recipients per language whose translation still waits for approval (when required).
    unapproved: Counter[str] = field(default_factory=Counter)
    approvals_required: bool = False

    @property
    def sendable(self) -> bool:
        """True when everyone has a language and every needed translation may be sent."""
        return self.without_language == 0 and not self.unapproved

    def describe(self) -> str:
        """One line for a person: "312 ru, 40 fall back to en, 3 have no usable language"."""
        parts: list[str] = []
        for language, count in self.languages.most_common():
            direct = count - self.fallbacks.get(language, 0)
            if direct:
                parts.append(f"{direct} {language}")
        for language, count in self.fallbacks.most_common():
            parts.append(ngettext("%(num)d falls back to %(language)s",
                                  "%(num)d fall back to %(language)s", count, language=language))
        if self.without_language:
            parts.append(ngettext("%(num)d has no usable language",
                                  "%(num)d have no usable language", self.without_language))
        if self.unapproved:
            waiting = ", ".join(f"{lang} ({n})" for lang, n in self.unapproved.most_common())
            parts.append(gettext("awaiting approval: %(waiting)s", waiting=waiting))
        return ", ".join(parts) if parts else gettext("no recipients")

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready form of the summary."""
        return {
            "total": self.total,
            "languages": dict(self.languages.most_common()),
            "fallbacks": dict(self.fallbacks.most_common()),
            "without_language": self.without_language,
            "missing_languages": dict(self.missing_languages.most_common()),
            "without_examples": [
                {"contact_id": u.contact_id, "email": u.email, "languages": list(u.languages),
                 "reason": u.reason} for u in self.without_examples],
            "unapproved": dict(self.unapproved.most_common()),
            "sendable": self.sendable,
            "description": self.describe(),
        }


def reading_languages_of(recipient: Any) -> tuple[str, ...]:
    """The ranked languages of a Contact, or of a row/mapping with ``language``/``languages``."""
    ranked = getattr(recipient, "reading_languages", None)
    if ranked is not None:
        return tuple(ranked)
    get = recipient.get if isinstance(recipient, Mapping) else \
        (lambda name, default=None: getattr(recipient, name, default))
    primary = get("language", "") or ""
    others = list(get("languages", None) or [])
    if primary and primary not in others:
        others.insert(0, primary)
    return tuple(others)


def _field(recipient: Any, name: str) -> Any:
    if isinstance(recipient, Mapping):
        return recipient.get(name)
    return getattr(recipient, name, None)


def translation_states(release: Any) -> dict[str, bool]:
    """``{language: approved}`` of a Release, or the mapping itself when given one."""
    if isinstance(release, Mapping):
        return {str(k): bool(v) for k, v in release.items()}
    return {t.language: bool(t.approved) for t in release.translations}


def audience_language_summary(recipients: Iterable[Any], release: Any,
                              fallback_chain: Sequence[str] = (),
                              approvals_required: bool | None = None) -> AudienceSummary:
    """Resolve every recipient in one pass: counts per language, fallbacks, and who has none.

    ``recipients`` are Contacts or rows with ``id``, ``email``, ``language`` and ``languages``;
    ``release`` is a Release or a ``{language: approved}`` mapping. ``approvals_required``
    defaults to the release's own flag.
    """
    states = translation_states(release)
    if approvals_required is None:
        approvals_required = bool(getattr(release, "approvals_required", False))
    summary = AudienceSummary(approvals_required=approvals_required)
    tally = _Tally(summary, states, tuple(fallback_chain))
    for recipient in recipients:
        tally.add(reading_languages_of(recipient), 1, recipient)
    return summary


def grouped_language_summary(groups: Iterable[tuple[Sequence[str], int]], release: Any,
                             fallback_chain: Sequence[str] = (),
                             approvals_required: bool | None = None,
                             examples: Callable[[list[tuple[str, ...]]], Iterable[Any]]
                             | None = None) -> AudienceSummary:
    """The same summary from (ranked languages, how many recipients) groups, as one GROUP BY
    over a large audience gives them; ``examples(unresolved groups)`` may supply a few of the
    recipients who have no usable language, to name them."""
    states = translation_states(release)
    if approvals_required is None:
        approvals_required = bool(getattr(release, "approvals_required", False))
    summary = AudienceSummary(approvals_required=approvals_required)
    tally = _Tally(summary, states, tuple(fallback_chain))
    unresolved: list[tuple[str, ...]] = []
    for ranked, count in groups:
        if not tally.add(tuple(ranked), count, None):
            unresolved.append(tuple(ranked))
    if unresolved and examples is not None:
        for recipient in examples(unresolved):
            if len(summary.without_examples) >= MAX_LISTED_WITHOUT:
                break
            ranked = reading_languages_of(recipient)
            summary.without_examples.append(Unresolved(
                _field(recipient, "id"), str(_field(recipient, "email") or ""), ranked,
                tally.resolve(ranked).reason))
    return summary


class _Tally:
    """Adds recipients to a summary, resolving each distinct ranking once."""

    def __init__(self, summary: AudienceSummary, states: Mapping[str, bool],
                 chain: tuple[str, ...]) -> None:
        self.summary = summary
        self.states = states
        self.chain = chain
        self.cache: dict[tuple[str, ...], Resolution] = {}

    def resolve(self, ranked: tuple[str, ...]) -> Resolution:
        """The resolution of one ranking (cached)."""
        found = self.cache.get(ranked)
        if found is None:
            found = self.cache[ranked] = resolve_language(ranked, self.states.keys(), self.chain)
        return found

    def add(self, ranked: tuple[str, ...], count: int, recipient: Any) -> bool:
        """Count ``count`` recipients reading ``ranked``; False when they have no language."""
        summary = self.summary
        resolution = self.resolve(ranked)
        summary.total += count
        language = resolution.language
        if language is None:
            summary.without_language += count
            summary.missing_languages.update(dict.fromkeys(ranked or ("(none)",), count))
            if recipient is not None and len(summary.without_examples) < MAX_LISTED_WITHOUT:
                summary.without_examples.append(Unresolved(
                    _field(recipient, "id"), str(_field(recipient, "email") or ""), ranked,
                    resolution.reason))
            return False
        summary.languages[language] += count
        if resolution.source == "fallback":
            summary.fallbacks[language] += count
        if summary.approvals_required and not self.states[language]:
            summary.unapproved[language] += count
        return True
