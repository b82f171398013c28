"""The staff UI's language and time zone, from the signed-in user's choice.

The UI's strings are marked with ``_()`` (templates) and ``gettext`` / ``lazy_gettext`` (Python)
and translated in ``mailer/translations/<lang>/LC_MESSAGES/messages.po``; ``scripts/translations``
extracts, updates and compiles the catalogs. Adding a UI language means adding its catalog and
one entry to ``UI_LANGUAGES``. Recipient-facing text (emails, the unsubscribe page) is localised
separately, per recipient, by ``mailer.rendering``.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from flask import Flask, g, has_request_context, request
from flask_babel import LazyString, gettext
from flask_babel import lazy_gettext as _l

from mailer import PACKAGE_DIR
from mailer.errors import Invalid

if TYPE_CHECKING:
    from mailer.auth.models import User

TRANSLATIONS_DIR = PACKAGE_DIR / "translations"
DEFAULT_UI_LANGUAGE = "en"
DEFAULT_TIME_ZONE = "UTC"

# Code → the language's own name, shown in the language picker.
UI_LANGUAGES: dict[str, str] = {
    "en": "English",
    "ru": "Русский",
}


# Stored values staff see as words: roles, statuses, suppression reasons, report filters. The
# database and the API keep the English value; only the staff pages show it translated.
VALUE_LABELS: dict[str, LazyString] = {
    "viewer": _l("viewer"), "editor": _l("editor"), "admin": _l("admin"),
    "draft": _l("draft"), "scheduled": _l("scheduled"), "sending": _l("sending"),
    "paused": _l("paused"), "sent": _l("sent"), "cancelled": _l("cancelled"),
    "queued": _l("queued"), "claimed": _l("claimed"), "deferred": _l("deferred"),
    "failed": _l("failed"), "bounced": _l("bounced"), "unknown": _l("unknown"),
    "skipped": _l("skipped"),
    "active": _l("active"), "suppressed": _l("suppressed"),
    "unsubscribed": _l("unsubscribed"), "hard_bounce": _l("hard bounce"),
    "complaint": _l("complaint"), "manual": _l("manual"), "erased": _l("erased"),
    "opened": _l("opened"), "not_opened": _l("not opened"), "clicked": _l("clicked"),
    "complained": _l("complained"), "scanner": _l("scanner"),
}


def value_label(value: object) -> str:
    """A stored value (``hard_bounce``) as staff read it, in the UI's language."""
    text = str(value if value is not None else "")
    label = VALUE_LABELS.get(text)
    return str(label) if label is not None else text.replace("_", " ")


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


def save_preferences(user: User, ui_language: str | None, time_zone: str | None) -> None:
    """Store a staff member's UI language and time zone (None: follow the browser / UTC)."""
    from mailer.db import db

    fields: dict[str, str] = {}
    if ui_language is not None and ui_language not in UI_LANGUAGES:
        fields["ui_language"] = gettext("Not a language of the staff UI: %(code)s.",
                                        code=ui_language)
    if time_zone is not None and not is_time_zone(time_zone):
        fields["time_zone"] = gettext("Not an IANA time zone name: %(name)s.", name=time_zone)
    if fields:
        raise Invalid(gettext("Language or time zone not accepted."), fields=fields)
    user.ui_language = ui_language
    user.time_zone = time_zone
    db.session.commit()


def select_ui_language() -> str:
    """The signed-in user's language, else the browser's best supported one, else English.

    The REST API always speaks English: its error messages are part of its contract, whatever
    the token owner's language or the request's ``Accept-Language``.
    """
    if not has_request_context() or request.path.startswith("/api/"):
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

    def local_datetime(value: datetime | str | None, format: str = "medium") -> str:
        """A stored UTC datetime (or ISO 8601 text) in the viewer's zone and language; '' for
        None. ``format`` is a Babel name (short, medium, long) or an LDML pattern."""
        moment = _as_datetime(value)
        if moment is None:
            return ""
        return format_datetime(moment, format)

    def local_stamp(value: datetime | str | None, seconds: bool = False,
                    zone: bool = True) -> str:
        """A compact, sortable time in the viewer's zone, named: ``2026-12-01 14:05 Asia/Almaty``.

        Staff compare these across rows and with colleagues elsewhere, so the digits stay the
        same in every language and the zone is spelled out rather than abbreviated.
        """
        moment = _as_datetime(value)
        if moment is None:
            return ""
        text = format_datetime(moment, "yyyy-MM-dd HH:mm:ss" if seconds else "yyyy-MM-dd HH:mm")
        return f"{text} {get_timezone() or DEFAULT_TIME_ZONE}" if zone else text

    app.jinja_env.filters["local_datetime"] = local_datetime
    app.jinja_env.filters["local_stamp"] = local_stamp
    app.jinja_env.globals.update(
        ui_languages=UI_LANGUAGES,
        value_label=value_label,
        value_labels=lambda: {value: str(label) for value, label in VALUE_LABELS.items()},
        ui_language=lambda: str(get_locale() or DEFAULT_UI_LANGUAGE),
        ui_time_zone=lambda: str(get_timezone() or DEFAULT_TIME_ZONE),
    )


def _as_datetime(value: datetime | str | None) -> datetime | None:
    """A datetime from a model column or from the ISO 8601 text of a JSON-shaped report."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None
