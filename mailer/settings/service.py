"""Instance settings: the sender identity, sending rates, and the tracking and approval
defaults of new mailings, as staff may change them.

Owns the saved settings and the one rule for reading them: :func:`effective_config` lays what
an admin saved over the ``MAILER_*`` environment values (mailer.config), which stay the
defaults. Everything that sends or creates mailings reads sender, rates and the tracking and
approval defaults through it, so a saved change applies to the next message composed, the next
batch paced and the next mailing created, with no restart.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from email.utils import parseaddr
from typing import Any

from email_validator import EmailNotValidError, validate_email
from flask_babel import gettext
from sqlalchemy import delete, select

from mailer.audit import service as audit
from mailer.config import check_rates
from mailer.db import db
from mailer.dispatch.ratelimit import Rate
from mailer.errors import ConfigurationError, Invalid
from mailer.settings.models import Setting

FROM_NAME = "from_name"
FROM_ADDRESS = "from_address"
REPLY_TO = "reply_to"
RATE = "rate"
DOMAIN_RATES = "domain_rates"
TRACK_BY_DEFAULT = "track_by_default"
APPROVAL_BY_DEFAULT = "approval_by_default"
KEYS = (FROM_NAME, FROM_ADDRESS, REPLY_TO, RATE, DOMAIN_RATES, TRACK_BY_DEFAULT,
        APPROVAL_BY_DEFAULT)
FLAGS = (TRACK_BY_DEFAULT, APPROVAL_BY_DEFAULT)
MAX_NAME_LENGTH = 200

# Config keys the saved settings add to the MAILER_* ones (no environment variable sets them).
REPLY_TO_KEY = "MAILER_REPLY_TO"
TRACKING_DEFAULT_KEY = "MAILER_TRACKING_DEFAULT"
APPROVAL_DEFAULT_KEY = "MAILER_APPROVAL_DEFAULT"


@dataclass(frozen=True)
class SenderSettings:
    """The settings in force: each saved value, else the environment's."""

    from_name: str
    from_address: str
    reply_to: str
    rate: str
    domain_rates: str
    track_by_default: bool
    approval_by_default: bool = False

    @property
    def mail_from(self) -> str:
        """The From mailbox as MAILER_FROM writes it, ``Name <address>``."""
        return mailbox(self.from_name, self.from_address)


def mailbox(name: str, address: str) -> str:
    """``Name <address>``, quoting the name when it holds characters that need it."""
    if not name:
        return address
    if any(ch in name for ch in '()<>@,;:\\".[]'):
        name = '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return f"{name} <{address}>"


def environment_settings(config: Mapping[str, Any]) -> SenderSettings:
    """The defaults: what the MAILER_* environment says, with nothing saved."""
    name, address = parseaddr(str(config["MAILER_FROM"]))
    return SenderSettings(
        from_name=name, from_address=address, reply_to=str(config.get(REPLY_TO_KEY) or ""),
        rate=str(config.get("MAILER_RATE") or ""),
        domain_rates=str(config.get("MAILER_DOMAIN_RATES") or ""),
        track_by_default=bool(config.get(TRACKING_DEFAULT_KEY, True)),
        approval_by_default=bool(config.get(APPROVAL_DEFAULT_KEY, False)))


def saved_settings() -> dict[str, Any]:
    """What staff saved, key by key (a key absent here uses the environment)."""
    return {row.key: row.value for row in db.session.scalars(select(Setting))}


def effective_settings(config: Mapping[str, Any]) -> SenderSettings:
    """The settings in force: the saved ones laid over the environment's."""
    defaults = environment_settings(config)
    saved = saved_settings()
    return SenderSettings(
        from_name=str(saved.get(FROM_NAME, defaults.from_name)),
        from_address=str(saved.get(FROM_ADDRESS, defaults.from_address)),
        reply_to=str(saved.get(REPLY_TO, defaults.reply_to)),
        rate=str(saved.get(RATE, defaults.rate)),
        domain_rates=str(saved.get(DOMAIN_RATES, defaults.domain_rates)),
        track_by_default=bool(saved.get(TRACK_BY_DEFAULT, defaults.track_by_default)),
        approval_by_default=bool(saved.get(APPROVAL_BY_DEFAULT,
                                           defaults.approval_by_default)))


def effective_config(config: Mapping[str, Any]) -> dict[str, Any]:
    """``config`` with the saved settings in place of MAILER_FROM, MAILER_RATE and
    MAILER_DOMAIN_RATES, plus MAILER_REPLY_TO, MAILER_TRACKING_DEFAULT and
    MAILER_APPROVAL_DEFAULT: what the dispatch pipeline, previews and mailing creation read."""
    current = effective_settings(config)
    merged = dict(config)
    merged.update({
        "MAILER_FROM": current.mail_from,
        REPLY_TO_KEY: current.reply_to,
        "MAILER_RATE": current.rate,
        "MAILER_DOMAIN_RATES": current.domain_rates,
        TRACKING_DEFAULT_KEY: current.track_by_default,
        APPROVAL_DEFAULT_KEY: current.approval_by_default,
    })
    if not config.get("MAILER_DKIM_DOMAIN"):
        # The DKIM key was published for the environment's sender domain: keep signing as that
        # domain when staff choose another From address, so signatures still verify.
        env_address = parseaddr(str(config["MAILER_FROM"]))[1]
        merged["MAILER_DKIM_DOMAIN"] = env_address.rpartition("@")[2]
    return merged


def _address(value: str, field: str, errors: dict[str, str]) -> str:
    try:
        return validate_email(value, check_deliverability=False,
                              test_environment=True).normalized
    except EmailNotValidError as exc:
        errors[field] = gettext("This is not a usable email address: %(why)s", why=str(exc))
        return value


def _rate(value: str, errors: dict[str, str]) -> str:
    try:
        check_rates(value, "")
        Rate.parse(value)
    except (ConfigurationError, ValueError):
        errors[RATE] = gettext("Write a rate such as 50/s, 600/min or 5000/h "
                               "(optionally with a burst: 600/min:20).")
    return value


def _domain_rates(value: str, errors: dict[str, str]) -> str:
    items = [part.strip() for part in value.replace("\n", ",").split(",") if part.strip()]
    clean: list[str] = []
    for item in items:
        domain, _, spec = item.partition("=")
        try:
            check_rates("", item)
            Rate.parse(spec)
        except (ConfigurationError, ValueError):
            errors[DOMAIN_RATES] = gettext(
                "“%(item)s” is not a domain=rate pair; write e.g. gmail.com=600/min, one per "
                "line or separated by commas.", item=item)
            return value
        clean.append(f"{domain.strip().lower()}={spec.strip()}")
    return ",".join(clean)


def clean_settings(values: Mapping[str, object]) -> dict[str, Any]:
    """The settings to save from form or JSON values; an empty text means "use the
    environment" (None). Raises Invalid naming every bad field."""
    errors: dict[str, str] = {}
    clean: dict[str, Any] = {}

    def text(key: str) -> str:
        value = values.get(key)
        return value.strip() if isinstance(value, str) else ""

    name = text(FROM_NAME)
    if len(name) > MAX_NAME_LENGTH:
        errors[FROM_NAME] = gettext("At most %(n)s characters.", n=MAX_NAME_LENGTH)
    elif any(ord(ch) < 32 or ord(ch) == 127 for ch in name):
        errors[FROM_NAME] = gettext("The name must be one line of text.")
    clean[FROM_NAME] = name or None
    for key in (FROM_ADDRESS, REPLY_TO):
        value = text(key)
        clean[key] = _address(value, key, errors) if value else None
    rate = text(RATE)
    clean[RATE] = _rate(rate, errors) if rate else None
    domain_rates = text(DOMAIN_RATES)
    clean[DOMAIN_RATES] = _domain_rates(domain_rates, errors) if domain_rates else None
    for key in FLAGS:
        flag = values.get(key)
        if flag is not None and not isinstance(flag, bool):
            errors[key] = gettext("Must be true or false.")
        clean[key] = flag
    if errors:
        raise Invalid(gettext("The settings were not saved."), fields=errors)
    return clean


def save_settings(values: Mapping[str, object], actor_email: str,
                  config: Mapping[str, Any]) -> dict[str, Any]:
    """Validate and save all settings at once (an empty value returns a key to its
    environment default), record what changed in the audit log; nothing is written when a
    field is bad. Returns the changes as ``{key: [before, after]}``."""
    clean = clean_settings(values)
    defaults = environment_settings(config)
    for key in FLAGS:
        if clean[key] == getattr(defaults, key):
            clean[key] = None  # the same as the default: follow the default
    before = saved_settings()
    changes = {key: [before.get(key), clean[key]] for key in KEYS
               if clean[key] != before.get(key)}
    if not changes:
        return {}
    for key, (_old, new) in changes.items():
        if new is None:
            db.session.execute(delete(Setting).where(Setting.key == key))
            continue
        row = db.session.get(Setting, key)
        if row is None:
            db.session.add(Setting(key=key, value=new, updated_by=actor_email))
        else:
            row.value = new
            row.updated_by = actor_email
    audit.record("settings.changed", target_type="settings",
                 summary="Settings changed: " + ", ".join(changes),
                 details={"changes": changes})
    db.session.commit()
    return changes
