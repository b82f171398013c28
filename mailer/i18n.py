"""The staff UI's language and time zone, from the signed-in user's choice.

The UI's strings are marked with ``_()`` (templates) and ``gettext`` / ``lazy_gettext`` (Python)
and translated in ``mailer/translations/<lang>/LC_MESSAGES/messages.po``; ``scripts/translations``
extracts, updates and compiles the catalogs. Adding a UI language means adding its catalog and
one entry to ``UI_LANGUAGES``. Recipient-facing text (emails, the unsubscribe page) is localised
separately, per recipient, by ``mailer.rendering``.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from flask import Flask, g, has_request_context, request

from mailer import PACKAGE_DIR

TRANSLATIONS_DIR = PACKAGE_DIR / "translations"
DEFAULT_UI_LANGUAGE = "en"
DEFAULT_TIME_ZONE = "UTC"

# Code → the language's own name, shown in the language picker.
UI_LANGUAGES: dict[str, str] = {
    "en": "English",
    "ru": "Русский",
}


def is_time_zone(name: str) -> bool:
    """True for an IANA time zone name this machine knows."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def time_zone_names() -> list[str]:
    """Every IANA time zone name, sorted, for the time zone picker."""
    return sorted(available_timezones())


def select_ui_language() -> str:
    """The signed-in user's language, else the browser's best supported one, else English."""
    if not has_request_context():
        return DEFAULT_UI_LANGUAGE
    user = g.get("staff")
    chosen = getattr(user, "ui_language", None)
    if chosen in UI_LANGUAGES:
        return str(chosen)
    return request.accept_languages.best_match(list(UI_LANGUAGES)) or DEFAULT_UI_LANGUAGE


def select_time_zone() -> str:
    """The signed-in user's time zone, else UTC."""
    if not has_request_context():
        return DEFAULT_TIME_ZONE
    user = g.get("staff")
    chosen = getattr(user, "time_zone", None)
    if chosen and is_time_zone(chosen):
        return str(chosen)
    return DEFAULT_TIME_ZONE


def init_i18n(app: Flask) -> None:
    """Install Flask-Babel: ``_``/``gettext``/``ngettext`` and the date filters in templates."""
    from flask_babel import Babel, format_datetime, get_locale, get_timezone

    Babel(
        app,
        locale_selector=select_ui_language,
        timezone_selector=select_time_zone,
        default_translation_directories=str(TRANSLATIONS_DIR),
    )

    def local_datetime(value: datetime | None, format: str = "medium") -> str:
        """A stored UTC datetime in the viewer's time zone and language; '' for None."""
        if value is None:
            return ""
        return format_datetime(value, format)

    app.jinja_env.filters["local_datetime"] = local_datetime
    app.jinja_env.globals.update(
        ui_languages=UI_LANGUAGES,
        ui_language=lambda: str(get_locale() or DEFAULT_UI_LANGUAGE),
        ui_time_zone=lambda: str(get_timezone() or DEFAULT_TIME_ZONE),
    )
