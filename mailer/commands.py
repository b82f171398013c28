"""The commands of shared/API.md, registered on every app's CLI (`mailer …`, `flask …`)."""

from __future__ import annotations

import logging
import secrets
import sys
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import with_appcontext

log = logging.getLogger("mailer")

FIRST_ADMIN_EMAIL = "admin@example.com"


def configure_logging(level: str) -> None:
    """One log format for the web app and the worker."""
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")


def upgrade_database() -> None:
    """Apply pending migrations (the same as ``mailer db upgrade``)."""
    from flask_migrate import upgrade

    upgrade()


def ensure_first_admin() -> tuple[str, str] | None:
    """On an empty database, create the first admin; returns its credentials once."""
    from mailer.auth import service

    if service.count_users():
        return None
    password = secrets.token_urlsafe(12)
    service.create_user(FIRST_ADMIN_EMAIL, password, "admin", name="Administrator")
    return FIRST_ADMIN_EMAIL, password


@click.command("run")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=5000, show_default=True, type=int, help="Port to listen on.")
@click.option("--threads", default=8, show_default=True, type=int, help="Web server threads.")
@click.option("--demo", is_flag=True,
              help="On an empty database, also load the demo data (as `mailer demo` does).")
@with_appcontext
def run_command(host: str, port: int, threads: int, demo: bool) -> None:
    """Apply migrations and serve the app; with the embedded broker, run a worker in-process."""
    from waitress import serve

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    configure_logging(app.config["MAILER_LOG_LEVEL"])
    upgrade_database()
    credentials = ensure_first_admin()
    demo_note = load_demo_data(credentials[0]) if demo and credentials else None

    if app.config["MAILER_EMBEDDED_BROKER"]:
        from worker.embedded import start_embedded_worker

        schedule = Path(app.instance_path) / "celerybeat-schedule"
        start_embedded_worker(app.extensions["celery"], schedule_filename=str(schedule))
        worker_note = "an in-process worker on the embedded broker"
    else:
        worker_note = "no worker here: run `mailer worker` next to it"

    url = f"http://{host}:{port}/"
    click.echo(f"mailer is running at {url} ({worker_note})", err=True)
    click.echo(f"  email transport: {_transport(app)}", err=True)
    if credentials:
        click.echo(f"  first admin: {credentials[0]}  password: {credentials[1]}", err=True)
        click.echo("  (shown once: sign in and change it under Account)", err=True)
    if demo_note:
        click.echo(f"  demo data: {demo_note}", err=True)
    sys.stderr.flush()
    serve(app, host=host, port=port, threads=threads, ident="mailer")


def load_demo_data(author_email: str) -> str | None:
    """Load the demo data on behalf of the first admin; one line saying what, or None."""
    from mailer.auth import service
    from mailer.demo import load_demo
    from mailer.errors import MailerError

    try:
        report = load_demo(service.find_user_by_email(author_email))
    except MailerError:  # the service still starts; `mailer demo` says what went wrong
        log.exception("could not load the demo data")
        return None
    return report.summary()


def _transport(app: Flask) -> str:
    from mailer.dispatch.transports import describe_transport_url

    return describe_transport_url(app.config["MAILER_SMTP_URL"])


@click.command(
    "worker",
    context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
    add_help_option=False,
)
@click.argument("celery_args", nargs=-1, type=click.UNPROCESSED)
@with_appcontext
def worker_command(celery_args: tuple[str, ...]) -> None:
    """A Celery worker for the configured broker; options are passed to `celery worker`."""
    celery = current_app.extensions["celery"]
    celery.worker_main(["worker", *celery_args])


@click.group("users")
def users_group() -> None:
    """Staff accounts."""


@users_group.command("create")
@click.argument("email")
@click.option("--role", type=click.Choice(["admin", "editor", "viewer"]), required=True)
@click.option("--password", help="Password; without it you are asked, or one is generated.")
@click.option("--name", default="", help="Display name.")
@with_appcontext
def users_create(email: str, role: str, password: str | None, name: str) -> None:
    """Create a staff account."""
    from mailer.auth import service
    from mailer.errors import MailerError

    generated = False
    if password is None:
        if sys.stdin.isatty():
            password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
        else:
            password, generated = secrets.token_urlsafe(12), True
    try:
        user = service.create_user(email, password or "", role, name=name)
    except MailerError as exc:
        detail = "; ".join(f"{k}: {v}" for k, v in exc.fields.items())
        raise click.ClickException(f"{exc.message} {detail}".strip()) from exc
    click.echo(f"created {user.email} ({user.role_enum.value})")
    if generated:
        click.echo(f"password: {password}")


@users_group.command("token")
@click.argument("email")
@click.option("--name", default="command line", help="A label to recognise the token by.")
@with_appcontext
def users_token(email: str, name: str) -> None:
    """Print one new API token for EMAIL, alone on one line."""
    from mailer.auth import service

    user = service.find_user_by_email(email)
    if user is None or not user.active:
        raise click.ClickException(f"no active user {email}")
    _, token = service.issue_token(user, name)
    click.echo(token)


def register_commands(app: Flask) -> None:
    """Add the mailer's commands to ``app.cli`` (Flask-Migrate adds ``db`` itself)."""
    from mailer.contacts.importing.cli import contacts_group
    from mailer.demo.cli import demo_command
    from mailer.dispatch.cli import mailings_group
    from mailer.tracking.cli import bounces_group

    for command in (run_command, worker_command, users_group, contacts_group, mailings_group,
                    demo_command, bounces_group):
        app.cli.add_command(command)
