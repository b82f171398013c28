"""docker-compose.yml and the Dockerfile: valid Compose, complete, and running real commands.

The Compose file is validated against the Compose Specification's JSON schema kept in
tests/data/compose-spec.json (see tests/data/README.md), with the validator of the JSON Schema
draft that the schema itself declares. Every command run in the project's own image is checked
against the real command line it names: the `mailer` click group, Celery's CLI with the `worker`
app, and gunicorn with `mailer:create_app()`.
"""

from __future__ import annotations

import importlib
import json
import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema.validators import validator_for

ROOT = Path(__file__).resolve().parents[1]
COMPOSE_FILE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
SCHEMA_FILE = ROOT / "tests" / "data" / "compose-spec.json"
API_MD = Path(__file__).resolve().parents[1].parent / "shared" / "API.md"

# The configuration table of API.md, for when shared/ is not beside the repository.
FALLBACK_VARIABLES = (
    "MAILER_DATABASE_URL",
    "MAILER_BROKER_URL",
    "MAILER_SMTP_URL",
    "MAILER_PUBLIC_URL",
    "MAILER_SECRET_KEY",
    "MAILER_FROM",
    "MAILER_BOUNCE_DOMAIN",
    "MAILER_INSTANCE",
)
REQUIRED_SERVICES = ("postgres", "redis", "migrate", "web", "worker", "beat", "mailpit")
HEALTHCHECKED_SERVICES = ("web", "redis", "postgres")
PROJECT_SERVICES = ("migrate", "web", "worker", "beat")
ENV_ANCHOR = "x-mailer-env"

# Celery's global options that take a value (everything else before the subcommand is a flag).
CELERY_VALUE_OPTIONS = frozenset(
    {"-A", "--app", "-b", "--broker", "--result-backend", "--loader", "--config", "--workdir"}
)


def load_compose() -> dict[str, Any]:
    with COMPOSE_FILE.open(encoding="utf-8") as fh:
        document = yaml.safe_load(fh)
    assert isinstance(document, dict), "docker-compose.yml is not a mapping"
    return document


def load_schema() -> dict[str, Any]:
    schema: dict[str, Any] = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    return schema


COMPOSE = load_compose()
SERVICES: dict[str, dict[str, Any]] = COMPOSE.get("services") or {}


def documented_variables() -> list[str]:
    """The MAILER_* names of API.md's configuration table, or the fallback list."""
    if not API_MD.is_file():
        return list(FALLBACK_VARIABLES)
    names: list[str] = []
    in_configuration = False
    for line in API_MD.read_text(encoding="utf-8").splitlines():
        if line.startswith("## "):
            in_configuration = line.lower().startswith("## configuration")
            continue
        match = re.match(r"^\|\s*`(MAILER_[A-Z0-9_]+)`", line)
        if in_configuration and match and match.group(1) not in names:
            names.append(match.group(1))
    assert names, f"no MAILER_* variable found in the configuration table of {API_MD}"
    return names


def service_command(name: str) -> list[str]:
    command = SERVICES[name].get("command")
    assert command, f"service {name!r} runs the project's image but sets no command"
    if isinstance(command, str):
        return shlex.split(command)
    return [str(part) for part in command]


def dockerfile_command() -> list[str]:
    commands = [
        line.strip()[len("CMD") :].strip()
        for line in DOCKERFILE.read_text(encoding="utf-8").splitlines()
        if line.strip().upper().startswith("CMD ")
    ]
    assert commands, "the Dockerfile has no CMD"
    last = commands[-1]  # only the last CMD counts
    if last.startswith("["):
        return [str(part) for part in json.loads(last)]
    return shlex.split(last)


# --------------------------------------------------------------------------------------------
# Checks of one command line against the real command line interface it names
# --------------------------------------------------------------------------------------------


def check_mailer_command(args: list[str]) -> None:
    """`mailer SUB ... [options]`: the subcommand path answers --help with exit code 0."""
    from click.testing import CliRunner

    # `from mailer.cli import cli`, the console script's click group
    cli = importlib.import_module("mailer.cli").cli
    path: list[str] = []
    for arg in args:
        if arg.startswith("-"):
            break
        path.append(arg)
    assert path, f"`mailer {shlex.join(args)}` names no subcommand"
    result = CliRunner().invoke(cli, [*path, "--help"], prog_name="mailer")
    assert result.exit_code == 0, (
        f"`mailer {shlex.join(path)} --help` exited {result.exit_code}:\n"
        f"{result.output}\n{result.exception!r}"
    )


def check_celery_command(args: list[str]) -> None:
    """`celery -A worker SUB ...`: -A finds a Celery app and SUB is a Celery command."""
    from celery import Celery
    from celery.app.utils import find_app
    from celery.bin.celery import celery as celery_cli
    from click.testing import CliRunner

    app_spec: str | None = None
    subcommand: str | None = None
    tokens = iter(args)
    for token in tokens:
        if token in ("-A", "--app"):
            app_spec = next(tokens, None)
        elif token.startswith("--app="):
            app_spec = token.split("=", 1)[1]
        elif token.startswith("-A") and len(token) > 2:
            app_spec = token[2:]
        elif token in CELERY_VALUE_OPTIONS:
            next(tokens, None)
        elif token.startswith("-"):
            continue
        else:
            subcommand = token
            break
    assert app_spec, f"`celery {shlex.join(args)}` names no app with -A"
    assert subcommand, f"`celery {shlex.join(args)}` names no celery command"

    # Celery's own lookup for -A: `module:attribute`, else the module's `app` or `celery`
    # attribute or any Celery instance in it, else its `celery` submodule, likewise.
    app = find_app(app_spec)
    assert isinstance(app, Celery), f"-A {app_spec} finds {app!r}, not a celery.Celery instance"

    assert subcommand in celery_cli.commands, (
        f"`celery {subcommand}` is not a celery command; known: {sorted(celery_cli.commands)}"
    )

    # The whole line with --help: celery loads the app and click rejects unknown options.
    result = CliRunner().invoke(celery_cli, [*args, "--help"], prog_name="celery")
    assert result.exit_code == 0, (
        f"`celery {shlex.join(args)} --help` exited {result.exit_code}:\n"
        f"{result.output}\n{result.exception!r}"
    )


def check_gunicorn_command(args: list[str]) -> None:
    """`gunicorn [options] module:factory()`: gunicorn accepts the options; the factory exists."""
    from gunicorn.config import Config

    config = Config(usage="%(prog)s [OPTIONS] [APP_MODULE]", prog="gunicorn")
    try:
        parsed = config.parser().parse_args(args)
    except SystemExit as exc:  # argparse's answer to an unknown option
        pytest.fail(f"gunicorn rejects its arguments {args!r}: exit {exc.code}")
    for key, value in vars(parsed).items():
        if key != "args" and value is not None:
            config.set(key.lower(), value)  # runs gunicorn's own validators

    assert len(parsed.args) == 1, f"gunicorn needs exactly one APP_MODULE, got {parsed.args!r}"
    module_name, _, expression = parsed.args[0].partition(":")
    match = re.fullmatch(r"([A-Za-z_]\w*)(\(\))?", expression)
    assert match, f"unexpected gunicorn APP_MODULE {parsed.args[0]!r}"
    target = getattr(importlib.import_module(module_name), match.group(1), None)
    assert callable(target), f"{module_name}.{match.group(1)} is not callable"


def check_command(argv: list[str]) -> None:
    assert argv, "empty command"
    program, *args = argv
    checks = {
        "mailer": check_mailer_command,
        "celery": check_celery_command,
        "gunicorn": check_gunicorn_command,
    }
    assert program in checks, f"{program!r} is not a command the project provides"
    checks[program](args)


@pytest.fixture
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The embedded defaults, in a throwaway instance folder, whatever the caller's shell has."""
    import os

    for name in list(os.environ):
        if name.startswith("MAILER_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("MAILER_INSTANCE", str(tmp_path / "instance"))


# --------------------------------------------------------------------------------------------
# Tests
# --------------------------------------------------------------------------------------------


def test_schema_is_a_valid_schema_of_a_known_draft() -> None:
    schema = load_schema()
    validator_class = validator_for(schema, default=None)
    assert validator_class is not None, f"unknown $schema {schema.get('$schema')!r}"
    validator_class.check_schema(schema)
    assert schema.get("title") == "Compose Specification"


def test_compose_file_validates_against_the_compose_specification() -> None:
    schema = load_schema()
    validator_class = validator_for(schema)
    validator = validator_class(schema)
    errors = sorted(validator.iter_errors(COMPOSE), key=lambda error: list(error.path))
    assert not errors, "docker-compose.yml is not valid Compose:\n" + "\n".join(
        f"  at {'/'.join(map(str, error.path)) or '(top)'}: {error.message}" for error in errors
    )


def test_required_services_exist() -> None:
    missing = [name for name in REQUIRED_SERVICES if name not in SERVICES]
    assert not missing, f"services missing from docker-compose.yml: {missing}"
    assert str(SERVICES["mailpit"].get("image", "")).startswith("axllent/mailpit")
    assert str(SERVICES["postgres"].get("image", "")).startswith("postgres:")
    assert str(SERVICES["redis"].get("image", "")).startswith("redis:")


@pytest.mark.parametrize("name", HEALTHCHECKED_SERVICES)
def test_healthchecks(name: str) -> None:
    healthcheck = SERVICES[name].get("healthcheck") or {}
    assert healthcheck.get("test"), f"service {name!r} has no healthcheck test"
    assert not healthcheck.get("disable"), f"service {name!r} disables its healthcheck"


def test_web_healthcheck_uses_healthz_without_curl() -> None:
    test = SERVICES["web"]["healthcheck"]["test"]
    line = test if isinstance(test, str) else " ".join(test)
    assert "/healthz" in line
    assert "urllib" in line
    assert "curl" not in line
    assert "wget" not in line


def test_dependencies_wait_for_what_they_can() -> None:
    for name, service in SERVICES.items():
        depends_on = service.get("depends_on") or {}
        if isinstance(depends_on, list):
            depends_on = {dependency: {"condition": "service_started"} for dependency in depends_on}
        for dependency, spec in depends_on.items():
            assert dependency in SERVICES, f"{name} depends on unknown service {dependency!r}"
            condition = spec.get("condition")
            if condition == "service_healthy":
                assert SERVICES[dependency].get("healthcheck"), (
                    f"{name} waits for {dependency} to be healthy, which has no healthcheck"
                )
            if condition == "service_completed_successfully":
                assert str(SERVICES[dependency].get("restart", "no")) == "no", (
                    f"{name} waits for one-shot {dependency}, which must not restart"
                )
    for name in ("web", "worker", "beat"):
        depends_on = SERVICES[name].get("depends_on") or {}
        assert depends_on.get("migrate", {}).get("condition") == "service_completed_successfully"
        assert depends_on.get("redis", {}).get("condition") == "service_healthy"
    assert SERVICES["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"


def test_restart_policies() -> None:
    for name, service in SERVICES.items():
        policy = str(service.get("restart", "no"))
        assert re.fullmatch(r"no|always|unless-stopped|on-failure(:\d+)?", policy), (
            f"{name} has an unknown restart policy {policy!r}"
        )
        if name != "migrate":
            assert policy != "no", f"long-running service {name} has no restart policy"
    assert SERVICES["migrate"].get("restart") == "no", "the one-shot migrate must not restart"


def test_named_volumes_are_declared() -> None:
    declared = set(COMPOSE.get("volumes") or {})
    for name, service in SERVICES.items():
        for volume in service.get("volumes") or []:
            source = volume.get("source") if isinstance(volume, dict) else volume.split(":")[0]
            if source and not source.startswith((".", "/", "~", "$")):
                assert source in declared, f"{name} mounts undeclared volume {source!r}"
    assert {"postgres-data", "redis-data", "mailer-instance"} <= declared


def test_every_documented_variable_is_in_the_shared_environment() -> None:
    environment = COMPOSE.get(ENV_ANCHOR)
    assert isinstance(environment, dict), f"docker-compose.yml has no {ENV_ANCHOR} mapping"
    missing = [name for name in documented_variables() if name not in environment]
    assert not missing, f"{ENV_ANCHOR} lacks {missing}"
    assert environment["MAILER_ENV"] == "production"
    assert environment["MAILER_INSTANCE"] == "/var/lib/mailer"
    assert "${MAILER_SECRET_KEY:?" in str(environment["MAILER_SECRET_KEY"])
    assert "mailpit:1025" in str(environment["MAILER_SMTP_URL"])
    assert str(environment["MAILER_DATABASE_URL"]).startswith("postgresql+psycopg://")
    assert str(environment["MAILER_BROKER_URL"]).startswith("redis://redis:6379")


@pytest.mark.parametrize("name", PROJECT_SERVICES)
def test_project_services_share_image_and_environment(name: str) -> None:
    service = SERVICES[name]
    assert service.get("build"), f"{name} does not build the project's image"
    assert service.get("environment") == COMPOSE[ENV_ANCHOR], f"{name} has its own environment"
    mounts = [str(volume) for volume in service.get("volumes") or []]
    assert any(mount.endswith(":/var/lib/mailer") for mount in mounts), f"{name} lacks instance"


def project_service_names() -> list[str]:
    """Every service that runs the project's own image (it builds it or names the same image)."""
    images = {SERVICES[name].get("image") for name in PROJECT_SERVICES if name in SERVICES}
    return sorted(
        name
        for name, service in SERVICES.items()
        if service.get("build") or (service.get("image") and service.get("image") in images)
    )


@pytest.mark.usefixtures("clean_environment")
@pytest.mark.parametrize("name", project_service_names())
def test_project_service_runs_a_real_command(name: str) -> None:
    check_command(service_command(name))


@pytest.mark.usefixtures("clean_environment")
def test_dockerfile_default_command_is_real() -> None:
    argv = dockerfile_command()
    assert argv[0] == "gunicorn"
    assert "0.0.0.0:8000" in argv
    check_command(argv)


def test_dockerfile_builds_a_non_root_image_of_the_installed_project() -> None:
    assert DOCKERFILE.is_file()
    text = DOCKERFILE.read_text(encoding="utf-8")
    assert re.search(r"^FROM\s+(\$\{PYTHON_IMAGE\}|python:3\.11-slim)", text, re.MULTILINE)
    assert "python:3.11-slim" in text
    assert re.search(r"pip install (--[\w-]+ )*\.\s*$", text, re.MULTILINE), "pip install ."
    assert not re.search(r"pip install .*(-e|--editable)\b", text)
    users = re.findall(r"^USER\s+(\S+)", text, re.MULTILINE)
    assert users and users[-1] == "mailer", "the image must run as the mailer user"
    assert re.search(r"^ENV\b.*MAILER_INSTANCE=/var/lib/mailer", text, re.MULTILINE | re.DOTALL)
    assert re.search(r'^VOLUME\s+\[?"?/var/lib/mailer', text, re.MULTILINE)
