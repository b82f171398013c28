"""``mailer bounces ingest``: take in bounce messages from an mbox, a Maildir, standard input
(an MTA pipe) or IMAP, and print what each did. Malformed messages are reported, never fatal."""

from __future__ import annotations

import os
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from mailer.errors import MailerError
from mailer.tracking import mailboxes
from mailer.tracking.bounces import ingest, secrets_from_config


@click.group("bounces")
def bounces_group() -> None:
    """Bounces, complaints and mailed unsubscribes."""


@bounces_group.command("ingest")
@click.option("--mbox", "mbox", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="An mbox file of bounce messages.")
@click.option("--maildir", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="A Maildir of bounce messages.")
@click.option("--imap", help="imaps://user:password@host/INBOX: unseen messages, marked seen.")
@click.option("--recipient", default=None,
              help="The envelope recipient of a piped message (default: $ORIGINAL_RECIPIENT "
                   "or $RECIPIENT, as Postfix and Exim set them).")
@click.argument("source", required=False)
@with_appcontext
def ingest_command(mbox: Path | None, maildir: Path | None, imap: str | None,
                   recipient: str | None, source: str | None) -> None:
    """Read bounce messages (``-``: one message on standard input) and apply them."""
    chosen = [name for name, value in (("--mbox", mbox), ("--maildir", maildir),
                                       ("--imap", imap), ("-", source)) if value]
    if len(chosen) != 1 or (source is not None and source != "-"):
        raise click.UsageError("give exactly one of --mbox FILE, --maildir DIR, --imap URL or -")
    messages: Iterator[mailboxes.RawMessage]
    try:
        if mbox is not None:
            messages = mailboxes.from_mbox(mbox)
        elif maildir is not None:
            messages = mailboxes.from_maildir(maildir)
        elif imap is not None:
            messages = mailboxes.ImapSource.parse(imap).messages()
        else:
            messages = mailboxes.from_stream(sys.stdin.buffer)
            recipient = recipient or os.environ.get("ORIGINAL_RECIPIENT") or \
                os.environ.get("RECIPIENT")
        secrets = secrets_from_config(current_app.config)
        totals: Counter[str] = Counter()
        for message in messages:
            applied = ingest(message.data, secrets, source="imap" if imap else "ingest",
                             recipient=recipient if source == "-" else None)
            totals[applied.kind] += 1
            totals["matched" if applied.matched else "unmatched"] += 1
            note = f" [{'; '.join(applied.problems)}]" if applied.problems else ""
            where = f"delivery {applied.delivery_id}" if applied.matched else "unmatched"
            click.echo(f"{message.label}: {applied.kind}"
                       f"{' ' + applied.status if applied.status else ''}"
                       f" {applied.email or '-'} {where}"
                       f" — {applied.outcome}{' (seen before)' if applied.duplicate else ''}{note}")
    except MailerError as exc:
        raise click.ClickException(exc.message + " " + " ".join(exc.fields.values())) from exc
    except OSError as exc:
        raise click.ClickException(f"cannot read the messages: {exc}") from exc
    summary = ", ".join(f"{name} {count}" for name, count in sorted(totals.items()))
    click.echo(f"done: {summary or 'no messages'}")
