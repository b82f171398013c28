"""``mailer demo``: load the demo release and journalists, and say what was created."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from mailer.errors import MailerError


@click.command("demo")
@with_appcontext
def demo_command() -> None:
    """Load demo data: a sample press release in seven languages and demo journalist lists."""
    from mailer.demo.load import load_demo

    try:
        report = load_demo()
    except MailerError as exc:
        detail = "; ".join(f"{name}: {why}" for name, why in exc.fields.items())
        raise click.ClickException(f"{exc.message} ({detail})" if detail else exc.message) \
            from exc
    for line in report.lines():
        click.echo(line)
