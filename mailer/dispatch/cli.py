"""`mailer mailings …`: watch a mailing's progress from the terminal."""

from __future__ import annotations

import time

import click
from flask.cli import with_appcontext

from mailer.db import db
from mailer.dispatch import service
from mailer.errors import MailerError

LIVE = {"sending", "scheduled"}


@click.group("mailings")
def mailings_group() -> None:
    """Mailings."""


@mailings_group.command("watch")
@click.argument("mailing_id", type=int)
@click.option("--interval", default=1.0, show_default=True, help="Seconds between updates.")
@with_appcontext
def watch(mailing_id: int, interval: float) -> None:
    """Show a progress bar until the mailing stops sending."""
    try:
        mailing = service.get_mailing(mailing_id)
    except MailerError as exc:
        raise click.ClickException(exc.message) from exc
    figures = service.progress(mailing)
    total = max(figures["counts"]["recipients"], 1)
    done_before = 0
    with click.progressbar(length=total, label=f"mailing {mailing_id}", show_pos=True,
                           item_show_func=lambda line: line) as bar:
        while True:
            db.session.expire_all()
            mailing = service.get_mailing(mailing_id)
            figures = service.progress(mailing)
            counts = figures["counts"]
            if counts["recipients"] > total:
                bar.length = total = counts["recipients"]
            done = sum(counts[k] for k in ("sent", "failed", "bounced", "unknown", "cancelled"))
            rate = figures["rate_per_second"]
            bar.update(done - done_before, f"{mailing.status}, {counts['sent']} sent"
                       + (f", {rate}/s" if rate else ""))
            done_before = done
            if mailing.status not in LIVE:
                break
            db.session.commit()
            time.sleep(interval)
    click.echo(f"{mailing.status}: " + ", ".join(
        f"{name} {value}" for name, value in figures["counts"].items() if value))
