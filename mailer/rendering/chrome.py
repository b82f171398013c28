"""Localised chrome: the layout environment, text direction and dates of one message language.

The words a layout adds come from the gettext catalogs of `mailer.rendering.catalogs` through
Jinja's i18n extension (``{{ _("Unsubscribe") }}``); the language of the translation picks the
catalog, with English chrome for languages that have none. Right-to-left scripts (Babel's
``Locale.character_order``) get ``dir="rtl"`` and right alignment. Dates are written with
Babel's locale data in the recipient's time zone.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel import Locale
from babel.dates import format_date, format_time, get_datetime_format, get_timezone_gmt
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from mailer.rendering.catalogs import chrome_locale, parse_tag, translations
from mailer.rendering.paths import email_templates_dir

Direction = Literal["ltr", "rtl"]


@dataclass(frozen=True, slots=True)
class Chrome:
    """How the layout speaks a message language: catalog, direction and alignment."""

    language: str
    """The translation's language tag: ``lang`` of the HTML root and ``Content-Language``."""
    locale: str
    """The chrome catalog (and date locale) used for it; ``en`` when none fits."""
    direction: Direction
    chrome_direction: Direction
    """The direction of the chrome's own words: ``ltr`` for English chrome in an Arabic message."""

    @property
    def align(self) -> Literal["left", "right"]:
        """The start side of a line: ``left``, or ``right`` for right-to-left scripts."""
        return "right" if self.direction == "rtl" else "left"

    @property
    def end(self) -> Literal["left", "right"]:
        """The end side of a line."""
        return "left" if self.direction == "rtl" else "right"


def chrome_for(language: str) -> Chrome:
    """The chrome of a message in ``language`` (a BCP 47 tag)."""
    catalog = chrome_locale(language)
    return Chrome(language=language, locale=catalog, direction=_direction(parse_tag(language)),
                  chrome_direction=_direction(parse_tag(catalog)))


def _direction(locale: Locale | None) -> Direction:
    return "rtl" if locale is not None and locale.character_order == "right-to-left" else "ltr"


@functools.lru_cache(maxsize=32)
def layout_environment(locale: str) -> Environment:
    """The trusted Jinja environment of the email layouts, speaking ``locale``'s chrome."""
    env = Environment(
        loader=FileSystemLoader(email_templates_dir()),
        autoescape=select_autoescape(["html"], default_for_string=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        auto_reload=False,
        extensions=["jinja2.ext.i18n"],
    )
    env.install_gettext_translations(  # type: ignore[attr-defined]
        translations(locale), newstyle=True)
    return env


@functools.lru_cache(maxsize=1024)
def zone(name: str) -> tzinfo:
    """The IANA time zone ``name``; UTC when the name is unknown or empty."""
    try:
        return ZoneInfo(name) if name else UTC
    except (ZoneInfoNotFoundError, ValueError):
        return UTC


@functools.lru_cache(maxsize=256)
def date_locale(chrome: str, recipient_language: str) -> str:
    """The locale for dates: the recipient's own variant of the chrome language, if they have one.

    An ``en-GB`` recipient of English chrome gets British dates; a recipient whose language
    differs from the chrome's gets the chrome's, so a message never mixes languages.
    """
    base = Locale.parse(chrome)
    own = parse_tag(recipient_language) if recipient_language else None
    if own is not None and own.language == base.language:
        return str(own)
    return str(base)


def format_moment(moment: datetime, timezone: str, locale: str) -> str:
    """``moment`` as the locale writes a long date and a short time, where the reader lives.

    For example ``31 мая 2016 г., 09:00 (GMT+05:00)`` for ``ru`` in ``Asia/Dushanbe``.
    """
    local = moment.astimezone(zone(timezone))
    babel_locale = Locale.parse(locale)
    date = format_date(local, "long", locale=babel_locale)
    time = format_time(local, "short", tzinfo=local.tzinfo, locale=babel_locale)
    pattern = str(get_datetime_format("long", locale=babel_locale)).replace("'", "")
    offset = get_timezone_gmt(local, "long", locale=babel_locale)
    return f"{pattern.replace('{0}', time).replace('{1}', date)} ({offset})"
