"""Fixtures every test shares: the app on SQLite and on PostgreSQL, clients, and real services.

``app`` is parametrised over both databases, so every database test runs twice. Each test gets
a fresh database copied from one migrated once per session (a file copy on SQLite, a
``CREATE DATABASE … TEMPLATE`` on PostgreSQL), so migrations are exercised and tests stay fast.
"""

from __future__ import annotations

import itertools
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner

from mailer import create_app
from tests.support.processes import BIN, ServiceProcess, running
from tests.support.services import *  # noqa: F403
from tests.support.services import PostgresCluster, RedisServer
from tests.support.smtp import SmtpSink, smtp_sink, tls_smtp_sink  # noqa: F401

DATABASES = ["sqlite", "postgres"]
_database_numbers = itertools.count(1)


def app_config(instance: Path, database_url: str, **extra: Any) -> dict[str, Any]:
    """The config of a test app: its own instance folder and database, nothing shared."""
    return {
        "MAILER_ENV": "testing",
        "MAILER_INSTANCE": str(instance),
        "MAILER_DATABASE_URL": database_url,
        "MAILER_PUBLIC_URL": "http://127.0.0.1:5000",
        "MAILER_FROM": "Press Office <press@example.org>",
        "TESTING": True,
        **extra,
    }


def migrate(config: dict[str, Any]) -> None:
    """Apply every migration to the database of ``config``."""
    from flask_migrate import upgrade

    app = create_app(config)
    with app.app_context():
        upgrade()
        from mailer.db import db

        db.engine.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file with every migration applied, copied for each test."""
    folder = tmp_path_factory.mktemp("sqlite-template")
    path = folder / "template.db"
    migrate(app_config(folder, f"sqlite:///{path}"))
    return path


@pytest.fixture(scope="session")
def postgres_template(postgres: PostgresCluster, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A PostgreSQL database with every migration applied, used as a template per test."""
    name = "mailer_template"
    postgres.create_database(name)
    migrate(app_config(tmp_path_factory.mktemp("pg-template"), postgres.url(name)))
    return name


@pytest.fixture(params=DATABASES)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, migrated database for one test, on SQLite or PostgreSQL."""
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        path = tmp_path / "mailer.db"
        shutil.copyfile(template, path)
        yield f"sqlite:///{path}"
        return
    cluster: PostgresCluster = request.getfixturevalue("postgres")
    template_name: str = request.getfixturevalue("postgres_template")
    name = f"test_{next(_database_numbers)}"
    cluster.create_database(name, template=template_name)
    yield cluster.url(name)
    cluster.drop_database(name)


@pytest.fixture
def app(database_url: str, tmp_path: Path) -> Iterator[Flask]:
    """The app on a fresh database, with CSRF protection on as in production."""
    app = create_app(app_config(tmp_path / "instance", database_url))
    yield app
    from mailer.db import db

    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """A browser-like client of the app."""
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> FlaskCliRunner:
    """Runs the app's CLI commands."""
    return app.test_cli_runner()


CSRF_FIELD = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def csrf_token(client: FlaskClient, path: str = "/login") -> str:
    """The CSRF token of the client's session, read from a page's form as a browser would."""
    html = client.get(path).get_data(as_text=True)
    match = CSRF_FIELD.search(html)
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def make_user(app: Flask, email: str = "editor@example.com", role: str = "editor",
              password: str = "correct horse battery") -> Any:
    """Create a staff account directly through the service."""
    from mailer.auth import service

    with app.app_context():
        user = service.create_user(email, password, role)
        return user.id


def login(client: FlaskClient, email: str, password: str = "correct horse battery") -> None:
    """Sign in through the login form, CSRF token and all."""
    token = csrf_token(client, "/login")
    response = client.post("/login", data={"email": email, "password": password,
                                           "csrf_token": token})
    assert response.status_code == 302, response.get_data(as_text=True)


def api_token(app: Flask, email: str) -> str:
    """A fresh API token for ``email``."""
    from mailer.auth import service

    with app.app_context():
        user = service.find_user_by_email(email)
        assert user is not None
        return service.issue_token(user, "test")[1]


@pytest.fixture
def staff(app: Flask) -> dict[str, dict[str, Any]]:
    """One account per role, with an API token each: ``staff["editor"]["token"]``."""
    accounts: dict[str, dict[str, Any]] = {}
    for role in ("viewer", "editor", "admin"):
        email = f"{role}@example.com"
        make_user(app, email, role)
        accounts[role] = {"email": email, "token": api_token(app, email)}
    return accounts


def bearer(token: str) -> dict[str, str]:
    """The Authorization header for an API token."""
    return {"Authorization": f"Bearer {token}"}


@dataclass
class Stack:
    """An app plus the environment a separate worker process needs to share its parts."""

    kind: str  # "embedded" (SQLite, filesystem broker) or "production" (PostgreSQL, Redis)
    app: Flask
    env: dict[str, str]
    redis: RedisServer | None = None


@pytest.fixture(params=["embedded", "production"])
def stack(request: pytest.FixtureRequest, tmp_path: Path,
          smtp_sink: SmtpSink) -> Iterator[Stack]:  # noqa: F811
    """The app on one of the two real configurations, sending to the SMTP sink."""
    env = {
        "MAILER_ENV": "testing",
        "MAILER_INSTANCE": str(tmp_path / "instance"),
        "MAILER_SMTP_URL": smtp_sink.url,
        "MAILER_FROM": "Press Office <press@example.org>",
        "MAILER_PUBLIC_URL": "http://127.0.0.1:5000",
        "MAILER_LOG_LEVEL": "INFO",
        "MAILER_RETRY_BASE_SECONDS": "1",
    }
    database_name = None
    redis: RedisServer | None = None
    if request.param == "embedded":
        template: Path = request.getfixturevalue("sqlite_template")
        shutil.copyfile(template, tmp_path / "mailer.db")
        env["MAILER_DATABASE_URL"] = f"sqlite:///{tmp_path / 'mailer.db'}"
    else:
        cluster: PostgresCluster = request.getfixturevalue("postgres")
        redis = request.getfixturevalue("redis_server")
        redis.flushall()
        database_name = f"test_{next(_database_numbers)}"
        env["MAILER_DATABASE_URL"] = cluster.create_database(
            database_name, template=request.getfixturevalue("postgres_template"))
        env["MAILER_BROKER_URL"] = redis.url
    app = create_app({**env, "TESTING": True})
    yield Stack(request.param, app, env, redis)
    from mailer.db import db

    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    if database_name:
        request.getfixturevalue("postgres").drop_database(database_name)


@pytest.fixture
def celery_worker(stack: Stack, tmp_path: Path) -> Iterator[ServiceProcess]:
    """A real `mailer worker` process consuming the stack's broker (Redis or the embedded one)."""
    args = [str(BIN / "mailer"), "worker", "--pool", "threads", "--concurrency", "2",
            "--without-mingle", "--without-gossip", "--loglevel", "INFO",
            "--hostname", f"test-{stack.kind}@%h"]
    with running(args, stack.env, tmp_path / "worker.log") as worker:
        worker.wait_for_output(r"ready\.", timeout=60)
        yield worker
