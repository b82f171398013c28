"""Settings from MAILER_* variables: embedded defaults, production checks."""

from __future__ import annotations

from pathlib import Path

import pytest

from mailer.config import load_settings
from mailer.errors import ConfigurationError

STRONG_SECRET = "k3J9-vQ2xL8pZr5wT1yN6bM4cH7dF0sG"


def test_embedded_defaults_need_no_server(tmp_path: Path) -> None:
    settings = load_settings({"MAILER_INSTANCE": str(tmp_path)})
    assert settings.database_url == f"sqlite:///{tmp_path / 'mailer.db'}"
    assert settings.embedded_broker
    assert settings.smtp_url == "outbox:"
    assert settings.public_url == "http://127.0.0.1:5000"
    assert settings.mail_from == "Press Office <press@localhost>"
    assert settings.bounce_domain == "localhost"
    assert settings.env == "development"


def test_secret_is_generated_once_and_kept(tmp_path: Path) -> None:
    first = load_settings({"MAILER_INSTANCE": str(tmp_path)}).secret_key
    second = load_settings({"MAILER_INSTANCE": str(tmp_path)}).secret_key
    assert first == second
    assert len(first) >= 48
    assert (tmp_path / "secret_key").stat().st_mode & 0o777 == 0o600


def test_every_api_variable_is_read(tmp_path: Path) -> None:
    settings = load_settings({
        "MAILER_INSTANCE": str(tmp_path),
        "MAILER_DATABASE_URL": "postgresql+psycopg://mailer:secret@db/mailer",
        "MAILER_BROKER_URL": "redis://redis:6379/0",
        "MAILER_SMTP_URL": "smtp://relay.example.org:587?starttls=1",
        "MAILER_PUBLIC_URL": "https://press.example.org",
        "MAILER_SECRET_KEY": STRONG_SECRET,
        "MAILER_FROM": "Nota Bene Press <press@example.org>",
        "MAILER_BOUNCE_DOMAIN": "bounces.example.org",
    })
    assert settings.database_url.startswith("postgresql+psycopg://")
    assert not settings.embedded_broker
    assert settings.smtp_url.startswith("smtp://relay.example.org")
    assert settings.secret_key == STRONG_SECRET
    assert settings.bounce_domain == "bounces.example.org"
    config = settings.flask_config()
    assert config["SESSION_COOKIE_SECURE"] is True  # https public URL
    assert config["SESSION_COOKIE_HTTPONLY"] is True
    assert config["SESSION_COOKIE_SAMESITE"] == "Lax"


def test_bounce_domain_defaults_to_the_from_domain(tmp_path: Path) -> None:
    settings = load_settings({"MAILER_INSTANCE": str(tmp_path),
                              "MAILER_FROM": "Press <press@example.org>"})
    assert settings.bounce_domain == "example.org"


@pytest.mark.parametrize("secret", [None, "", "changeme", "secret", "short-but-random-9x",
                                    "a" * 64, "abababababababababababababababab"])
def test_production_refuses_a_weak_secret(tmp_path: Path, secret: str | None) -> None:
    env = {"MAILER_INSTANCE": str(tmp_path), "MAILER_ENV": "production"}
    if secret is not None:
        env["MAILER_SECRET_KEY"] = secret
    with pytest.raises(ConfigurationError, match="MAILER_SECRET_KEY"):
        load_settings(env)


def test_production_accepts_a_strong_secret(tmp_path: Path) -> None:
    env = {"MAILER_INSTANCE": str(tmp_path), "MAILER_ENV": "production",
           "MAILER_SECRET_KEY": STRONG_SECRET}
    assert load_settings(env).secret_key == STRONG_SECRET


def test_unknown_environment_name_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="MAILER_ENV"):
        load_settings({"MAILER_INSTANCE": str(tmp_path), "MAILER_ENV": "prod"})


def test_from_without_address_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="MAILER_FROM"):
        load_settings({"MAILER_INSTANCE": str(tmp_path), "MAILER_FROM": "Press Office"})


@pytest.mark.parametrize(("name", "value"), [("MAILER_RATE", "fast"), ("MAILER_RATE", "10/day"),
                                             ("MAILER_DOMAIN_RATES", "gmail.com:600/min"),
                                             ("MAILER_BATCH_SIZE", "many"),
                                             ("MAILER_MAX_ATTEMPTS", "0")])
def test_bad_sending_settings_are_refused_with_their_name(tmp_path: Path, name: str,
                                                          value: str) -> None:
    with pytest.raises(ConfigurationError, match=name):
        load_settings({"MAILER_INSTANCE": str(tmp_path), name: value})


def test_sending_settings_are_read(tmp_path: Path) -> None:
    settings = load_settings({"MAILER_INSTANCE": str(tmp_path), "MAILER_RATE": "600/min:20",
                              "MAILER_DOMAIN_RATES": "gmail.com=300/min, yandex.ru=5/s",
                              "MAILER_DISPATCH_CONCURRENCY": "4"})
    config = settings.flask_config()
    assert config["MAILER_RATE"] == "600/min:20"
    assert config["MAILER_DISPATCH_CONCURRENCY"] == 4
    assert config["MAILER_BATCH_SIZE"] == 250
