"""Settings from MAILER_* environment variables, with embedded defaults that need no server.

Owns the mapping from the environment (shared/API.md, "Configuration") to the Flask config
keys the rest of the app reads. Nothing else reads ``os.environ``.
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from email.utils import parseaddr
from pathlib import Path
from typing import Any

from mailer.errors import ConfigurationError

DEVELOPMENT = "development"
PRODUCTION = "production"
TESTING = "testing"

SECRET_FILE_NAME = "secret_key"  # noqa: S105  (a file name)
MIN_SECRET_LENGTH = 32
# Whole-number settings: name -> (default, smallest allowed value).
NUMBERS: dict[str, tuple[int, int]] = {
    "MAILER_OUTBOX_RETENTION_DAYS": (30, 1),
    "MAILER_IMPORT_MAX_BYTES": (50_000_000, 1),
    "MAILER_ATTACHMENT_MAX_BYTES": (10 * 1024 * 1024, 1),
    "MAILER_DISPATCH_CONCURRENCY": (2, 1),
    "MAILER_BATCH_SIZE": (250, 1),
    "MAILER_RETRY_BASE_SECONDS": (60, 0),
    "MAILER_RETRY_MAX_SECONDS": (6 * 3600, 1),
    "MAILER_MAX_ATTEMPTS": (8, 1),
    "MAILER_CLAIM_TIMEOUT_SECONDS": (120, 1),
    "MAILER_SMTP_TIMEOUT_SECONDS": (30, 1),
    "MAILER_TRACKING_FLUSH_MS": (200, 0),
    "MAILER_SCANNER_SECONDS": (10, 0),
}
# Free-text settings with their defaults (validated where they are used).
TEXTS: dict[str, str] = {
    "MAILER_RATE": "",
    "MAILER_DOMAIN_RATES": "",
    "MAILER_DKIM_KEY": "",
    "MAILER_DKIM_SELECTOR": "mailer",
    "MAILER_DKIM_DOMAIN": "",
}
WEAK_SECRETS = frozenset({"", "secret", "changeme", "change-me", "dev", "development", "mailer"})


@dataclass(frozen=True)
class Settings:
    """Resolved configuration of one process."""

    env: str
    instance_path: Path
    database_url: str
    broker_url: str
    smtp_url: str
    public_url: str
    secret_key: str
    mail_from: str
    bounce_domain: str
    log_level: str
    numbers: dict[str, int]
    texts: dict[str, str]

    @property
    def import_max_bytes(self) -> int:
        """The largest CSV file an import accepts."""
        return self.numbers["MAILER_IMPORT_MAX_BYTES"]

    @property
    def embedded_broker(self) -> bool:
        """True when no external broker is configured: the worker runs inside `mailer run`."""
        return self.broker_url.startswith("filesystem://")

    def flask_config(self) -> dict[str, Any]:
        """The Flask config mapping for these settings."""
        secure_cookies = self.public_url.startswith("https://")
        return {
            "MAILER_ENV": self.env,
            "SECRET_KEY": self.secret_key,
            "SQLALCHEMY_DATABASE_URI": self.database_url,
            "SQLALCHEMY_ENGINE_OPTIONS": engine_options(self.database_url),
            "MAILER_BROKER_URL": self.broker_url,
            "MAILER_SMTP_URL": self.smtp_url,
            "MAILER_PUBLIC_URL": self.public_url.rstrip("/"),
            "MAILER_FROM": self.mail_from,
            "MAILER_BOUNCE_DOMAIN": self.bounce_domain,
            "MAILER_LOG_LEVEL": self.log_level,
            **self.numbers,
            **self.texts,
            "MAILER_EMBEDDED_BROKER": self.embedded_broker,
            "SESSION_COOKIE_NAME": "mailer_session",
            "SESSION_COOKIE_HTTPONLY": True,
            "SESSION_COOKIE_SAMESITE": "Lax",
            "SESSION_COOKIE_SECURE": secure_cookies,
            "REMEMBER_COOKIE_HTTPONLY": True,
            "REMEMBER_COOKIE_SAMESITE": "Lax",
            "REMEMBER_COOKIE_SECURE": secure_cookies,
            "PERMANENT_SESSION_LIFETIME": 12 * 3600,
            "WTF_CSRF_TIME_LIMIT": None,
            # Room for the largest import plus the multipart envelope around it.
            "MAX_CONTENT_LENGTH": max(64 * 1024 * 1024, self.import_max_bytes + 1024 * 1024),
            "JSON_SORT_KEYS": False,
        }


def engine_options(database_url: str) -> dict[str, Any]:
    """SQLAlchemy engine options suited to the database kind."""
    if database_url.startswith("sqlite"):
        # The web threads and the embedded worker share one file: wait for locks, not fail.
        return {"connect_args": {"timeout": 30, "check_same_thread": False}}
    return {"pool_pre_ping": True, "pool_recycle": 1800}


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Read settings from the environment, filling embedded defaults and checking the secret."""
    env = os.environ if environ is None else environ
    mode = env.get("MAILER_ENV", DEVELOPMENT).strip().lower() or DEVELOPMENT
    if mode not in {DEVELOPMENT, PRODUCTION, TESTING}:
        raise ConfigurationError(
            f"MAILER_ENV must be development, production or testing, not {mode!r}"
        )
    instance = Path(env.get("MAILER_INSTANCE") or "./instance").expanduser().resolve()

    database_url = env.get("MAILER_DATABASE_URL") or f"sqlite:///{instance / 'mailer.db'}"
    broker_url = env.get("MAILER_BROKER_URL") or "filesystem://"
    mail_from = env.get("MAILER_FROM") or "Press Office <press@localhost>"
    _, from_address = parseaddr(mail_from)
    if "@" not in from_address:
        raise ConfigurationError(f"MAILER_FROM has no email address: {mail_from!r}")
    bounce_domain = env.get("MAILER_BOUNCE_DOMAIN") or from_address.rsplit("@", 1)[1]

    numbers = {name: whole_number(env, name, default, minimum)
               for name, (default, minimum) in NUMBERS.items()}
    texts = {name: (env.get(name) or default).strip() for name, default in TEXTS.items()}
    check_rates(texts["MAILER_RATE"], texts["MAILER_DOMAIN_RATES"])

    secret = env.get("MAILER_SECRET_KEY")
    if mode == PRODUCTION:
        check_production_secret(secret)
    if not secret:
        secret = instance_secret(instance)

    return Settings(
        env=mode,
        instance_path=instance,
        database_url=database_url,
        broker_url=broker_url,
        smtp_url=env.get("MAILER_SMTP_URL") or "outbox:",
        public_url=env.get("MAILER_PUBLIC_URL") or "http://127.0.0.1:5000",
        secret_key=secret,
        mail_from=mail_from,
        bounce_domain=bounce_domain,
        log_level=(env.get("MAILER_LOG_LEVEL") or "INFO").upper(),
        numbers=numbers,
        texts=texts,
    )


RATE = re.compile(r"^\d+/(s|sec|m|min|h|hour)(:\d+)?$", re.IGNORECASE)


def check_rates(rate: str, domain_rates: str) -> None:
    """Refuse sending rates that do not read like ``50/s``, ``600/min:20`` or ``d=300/min``."""
    if rate and not RATE.match(rate):
        raise ConfigurationError(f"MAILER_RATE must look like 50/s, 600/min or 5000/h, "
                                 f"not {rate!r}")
    for item in filter(None, (part.strip() for part in domain_rates.split(","))):
        domain, _, spec = item.partition("=")
        if not domain.strip() or not RATE.match(spec.strip()):
            raise ConfigurationError(f"MAILER_DOMAIN_RATES takes domain=rate pairs such as "
                                     f"gmail.com=600/min, not {item!r}")


def whole_number(env: Mapping[str, str], name: str, default: int, minimum: int) -> int:
    """A whole-number setting, or a ConfigurationError naming it."""
    raw = (env.get(name) or "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise ConfigurationError(f"{name} must be a whole number, not {raw!r}") from exc
    if value < minimum:
        raise ConfigurationError(f"{name} must be at least {minimum}")
    return value


def check_production_secret(secret: str | None) -> None:
    """Refuse a missing, short, well-known or single-character secret in production."""
    if not secret:
        raise ConfigurationError("MAILER_SECRET_KEY must be set when MAILER_ENV=production")
    if secret.strip().lower() in WEAK_SECRETS or len(set(secret)) < 8:
        raise ConfigurationError("MAILER_SECRET_KEY is a well-known or trivial value")
    if len(secret) < MIN_SECRET_LENGTH:
        raise ConfigurationError(
            f"MAILER_SECRET_KEY must be at least {MIN_SECRET_LENGTH} characters in production"
        )


def instance_secret(instance: Path) -> str:
    """The secret kept in the instance folder, generated on first use."""
    instance.mkdir(parents=True, exist_ok=True)
    path = instance / SECRET_FILE_NAME
    if path.exists():
        return path.read_text(encoding="ascii").strip()
    secret = secrets.token_urlsafe(48)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process of the same instance won the race
        return path.read_text(encoding="ascii").strip()
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(secret)
    return secret
