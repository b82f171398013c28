"""The ``mailer`` console script: a Flask CLI group over the app's commands."""

from __future__ import annotations

from flask import Flask
from flask.cli import FlaskGroup

from mailer import create_app


def _create_app(*_: object) -> Flask:
    return create_app()


cli = FlaskGroup(
    name="mailer",
    create_app=_create_app,
    add_default_commands=False,
    add_version_option=False,
    load_dotenv=False,
    set_debug_flag=False,
    help="The mailer: multilingual press-release mailings. See `mailer COMMAND --help`.",
)


def main() -> None:
    """Entry point of the ``mailer`` console script."""
    cli.main()
