"""The `mailer` command: db upgrade, users create, users token, run, worker."""

from __future__ import annotations

import re
from pathlib import Path

from flask import Flask
from flask.testing import FlaskCliRunner
from sqlalchemy import create_engine, inspect

from tests.conftest import bearer
from tests.support.processes import BIN, run_command

MAILER = str(BIN / "mailer")


def test_users_create_and_token(app: Flask, runner: FlaskCliRunner) -> None:
    result = runner.invoke(args=["users", "create", "Desk@Example.com", "--role", "editor",
                                 "--password", "long enough pass"])
    assert result.exit_code == 0, result.output
    assert "created desk@example.com (editor)" in result.output

    result = runner.invoke(args=["users", "token", "desk@example.com"])
    assert result.exit_code == 0
    token = result.output.strip()
    assert result.output == token + "\n"  # the token alone, on one line
    response = app.test_client().get("/api/v1/me", headers=bearer(token))
    assert response.get_json()["email"] == "desk@example.com"


def test_users_create_refuses_bad_input(app: Flask, runner: FlaskCliRunner) -> None:
    ok = runner.invoke(args=["users", "create", "a@example.com", "--role", "viewer",
                             "--password", "long enough pass"])
    assert ok.exit_code == 0
    duplicate = runner.invoke(args=["users", "create", "A@example.com", "--role", "viewer",
                                    "--password", "long enough pass"])
    assert duplicate.exit_code != 0
    assert "already exists" in duplicate.output
    short = runner.invoke(args=["users", "create", "b@example.com", "--role", "viewer",
                                "--password", "short"])
    assert short.exit_code != 0
    assert "at least 10 characters" in short.output
    role = runner.invoke(args=["users", "create", "c@example.com", "--role", "owner"])
    assert role.exit_code == 2


def test_users_create_generates_a_password_when_not_interactive(app: Flask,
                                                               runner: FlaskCliRunner) -> None:
    result = runner.invoke(args=["users", "create", "gen@example.com", "--role", "admin"])
    assert result.exit_code == 0, result.output
    password = re.search(r"password: (\S+)", result.output)
    assert password is not None
    from mailer.auth import service

    with app.app_context():
        assert service.authenticate("gen@example.com", password.group(1)) is not None


def test_token_for_unknown_user_fails(app: Flask, runner: FlaskCliRunner) -> None:
    result = runner.invoke(args=["users", "token", "nobody@example.com"])
    assert result.exit_code != 0
    assert "no active user" in result.output


def test_console_script_from_an_empty_instance(tmp_path: Path) -> None:
    """The installed `mailer` script: db upgrade creates the schema, then users and a token."""
    env = {"MAILER_INSTANCE": str(tmp_path / "instance")}
    upgrade = run_command([MAILER, "db", "upgrade"], env)
    assert upgrade.returncode == 0, upgrade.stderr
    engine = create_engine(f"sqlite:///{tmp_path / 'instance' / 'mailer.db'}")
    assert {"users", "api_tokens", "outbox_messages", "alembic_version"} <= set(
        inspect(engine).get_table_names())
    engine.dispose()
    again = run_command([MAILER, "db", "upgrade"], env)  # idempotent
    assert again.returncode == 0, again.stderr

    created = run_command([MAILER, "users", "create", "admin@example.com", "--role", "admin",
                           "--password", "long enough pass"], env)
    assert created.returncode == 0, created.stderr
    token = run_command([MAILER, "users", "token", "admin@example.com"], env)
    assert token.returncode == 0, token.stderr
    assert re.fullmatch(r"mlr_[A-Za-z0-9_-]{43}\n", token.stdout)
    assert (tmp_path / "instance" / "secret_key").exists()


def test_console_script_on_postgres(postgres, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    url = postgres.create_database("cli_upgrade")
    env = {"MAILER_INSTANCE": str(tmp_path), "MAILER_DATABASE_URL": url}
    upgrade = run_command([MAILER, "db", "upgrade"], env)
    assert upgrade.returncode == 0, upgrade.stderr
    rows = postgres.execute("SELECT 1")  # cluster still fine
    assert rows
    engine = create_engine(url)
    assert "users" in inspect(engine).get_table_names()
    engine.dispose()
    postgres.drop_database("cli_upgrade")


def test_production_refuses_to_start_with_a_weak_secret(tmp_path: Path) -> None:
    env = {"MAILER_INSTANCE": str(tmp_path), "MAILER_ENV": "production",
           "MAILER_SECRET_KEY": "changeme"}
    result = run_command([MAILER, "db", "upgrade"], env)
    assert result.returncode != 0
    assert "MAILER_SECRET_KEY" in result.stderr


def test_help_lists_the_commands(tmp_path: Path) -> None:
    result = run_command([MAILER, "--help"], {"MAILER_INSTANCE": str(tmp_path)})
    for command in ("run", "worker", "db", "users", "demo"):
        assert re.search(rf"^\s+{command}\s", result.stdout, re.MULTILINE), command
