"""The pages recipients see, in their language: the unsubscribe page and preference centre.

Rendered from ``templates/public/`` with the chrome catalogs of `mailer.rendering` (the words
of the email's own footer come from the same place), so the page speaks the language the
message was sent in: ``lang`` and ``dir`` on the root, every word from the catalog, dates and
language names from Babel's locale data. A delivery in a language without a catalog gets the
English page, and then says ``lang="en"`` — the language the words are actually in.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from babel import Locale
from babel.dates import format_date
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from mailer.rendering.catalogs import chrome_locale, parse_tag, translations
from mailer.rendering.chrome import chrome_for
from mailer.rendering.paths import templates_dir

PUBLIC_TEMPLATES = "public"


@functools.lru_cache(maxsize=32)
def page_environment(locale: str) -> Environment:
    """The Jinja environment of the public pages, speaking ``locale``."""
    env = Environment(
        loader=FileSystemLoader(templates_dir() / PUBLIC_TEMPLATES),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
        extensions=["jinja2.ext.i18n"],
    )
    env.install_gettext_translations(  # type: ignore[attr-defined]
        translations(locale), newstyle=True)
    return env


@dataclass(frozen=True)
class PageLanguage:
    """The language a page is written in: ``lang``, direction, catalog and date locale."""

    lang: str
    locale: str
    direction: str

    def date(self, moment: datetime | None) -> str:
        """A long date as the locale writes it (``31 мая 2016 г.``)."""
        return format_date(moment, "long", locale=self.locale) if moment else ""

    def language_name(self, tag: str) -> str:
        """A language's name in the page's language (``казахский`` for ``kk`` on a ru page)."""
        found = parse_tag(tag)
        if found is None:
            return tag
        name = found.get_display_name(Locale.parse(self.locale)) or tag
        return name[:1].upper() + name[1:]


def page_language(tag: str) -> PageLanguage:
    """The page language for a delivery in ``tag``."""
    locale = chrome_locale(tag or "en")
    own = parse_tag(tag) if tag else None
    lang = tag if own is not None and own.language == locale.split("_")[0] else locale
    return PageLanguage(lang=lang, locale=locale, direction=chrome_for(lang).direction)


@dataclass
class Page:
    """What the unsubscribe template shows."""

    language: PageLanguage
    action: str
    css_url: str
    organisation: str
    email: str
    subject: str = ""
    sent_on: str = ""
    unsubscribed_on: str = ""
    done: str = ""
    lists: list[dict[str, Any]] = field(default_factory=list)
    languages: list[dict[str, Any]] = field(default_factory=list)
    mailing_list_names: list[str] = field(default_factory=list)
    saved: bool = False
    is_test: bool = False


def render_page(name: str, page: Page) -> str:
    """One public page in its language."""
    template = page_environment(page.language.locale).get_template(name)
    return template.render(page=page, lang=page.language.lang, dir=page.language.direction)
