"""The chrome catalogs: gettext translations of the words the email layouts add.

Owns the catalogs under ``mailer/rendering/locales/<locale>/LC_MESSAGES/messages.{po,mo}``
and which language tag gets which catalog (English when none fits). The compiled ``.mo`` files
are committed, so an installed package works without a build step; `mailer.rendering.l10n`
maintains them and a test checks they match their ``.po`` sources.
"""

from __future__ import annotations

import functools

from babel import Locale, UnknownLocaleError
from babel.support import Translations

from mailer.rendering.paths import LOCALES_DIR

DOMAIN = "messages"
DEFAULT_LOCALE = "en"


def available_locales() -> tuple[str, ...]:
    """The locales that have a compiled catalog, e.g. ``("de", "en", "fr", …)``."""
    return tuple(sorted(
        path.parent.parent.name for path in LOCALES_DIR.glob(f"*/LC_MESSAGES/{DOMAIN}.mo")))


def parse_tag(tag: str) -> Locale | None:
    """The Babel locale of a BCP 47 tag (``pt-BR``), or None when Babel does not know it."""
    try:
        return Locale.parse(tag.replace("_", "-"), sep="-")
    except (ValueError, UnknownLocaleError):
        return None


@functools.lru_cache(maxsize=256)
def chrome_locale(tag: str) -> str:
    """The catalog for a language tag: the closest available one, else English."""
    available = set(available_locales())
    locale = parse_tag(tag)
    candidates = [str(locale), locale.language] if locale else []
    candidates.append(tag.split("-")[0].lower())
    return next((name for name in candidates if name in available), DEFAULT_LOCALE)


@functools.lru_cache(maxsize=64)
def translations(locale: str) -> Translations:
    """The gettext translations of one available locale (see `chrome_locale`)."""
    loaded = Translations.load(str(LOCALES_DIR), [locale], DOMAIN)
    if not isinstance(loaded, Translations):  # no catalog: gettext's NullTranslations
        raise LookupError(f"no compiled chrome catalog for {locale!r}")
    return loaded
