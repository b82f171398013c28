"""``mailer contacts import FILE [--list NAME] [--update-existing]``: the import from a shell."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask.cli import with_appcontext

from mailer.contacts.importing import service
from mailer.contacts.importing.report import ImportReport
from mailer.errors import MailerError

SHOWN_ERRORS = 20


@click.group("contacts")
def contacts_group() -> None:
    """Journalists: the contact database."""


@contacts_group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, readable=True,
                                        path_type=Path))
@click.option("--list", "list_name", metavar="NAME",
              help="Put every imported contact in this list (created if missing).")
@click.option("--update-existing", is_flag=True,
              help="Update contacts that already exist from the file's non-empty cells "
                   "(without it they are skipped).")
@with_appcontext
def import_command(file: Path, list_name: str | None, update_existing: bool) -> None:
    """Import journalists from a CSV FILE, with a progress bar, and print the report."""
    options = service.ImportOptions(filename=file.name, list_name=(list_name or "").strip() or None,
                                    update_existing=update_existing)
    size = file.stat().st_size
    try:
        with file.open("rb") as stream, click.progressbar(
                length=size, label=f"Importing {file.name}", file=sys.stderr,
                show_percent=True) as bar:

            def progress(done: int) -> None:
                bar.update(max(0, min(done, size) - bar.pos))

            report = service.import_contacts(stream, options, progress=progress)
    except MailerError as exc:
        detail = "; ".join(f"{field}: {why}" for field, why in exc.fields.items())
        raise click.ClickException(f"{exc.message} ({detail})" if detail else exc.message) \
            from exc
    click.echo(format_report(report))


def format_report(report: ImportReport) -> str:
    """The report as lines for a terminal: counts, then the first problems."""
    lines = [
        f"{report.filename}: {report.rows} rows ({report.encoding}, {report.delimiter}-separated)",
        f"  created:    {report.created}",
        f"  updated:    {report.updated}",
        f"  skipped:    {report.skipped} (already in the database)",
        f"  duplicates: {report.duplicates} (repeated in the file)",
        f"  rejected:   {report.rejected}",
        f"  suppressed: {report.suppressed} (imported, but never mailed)",
    ]
    if report.list_id is not None:
        lines.append(f"  list id:    {report.list_id}")
    if report.ignored_columns:
        lines.append(f"  ignored columns: {', '.join(report.ignored_columns)}")
    if report.errors:
        lines.append(f"Problems ({report.errors_total}):")
        for error in report.errors[:SHOWN_ERRORS]:
            where = f"row {error.row}, {error.field}" if error.field else f"row {error.row}"
            lines.append(f"  {where}: {error.message}")
        if report.errors_total > SHOWN_ERRORS:
            lines.append(f"  … and {report.errors_total - SHOWN_ERRORS} more")
    return "\n".join(lines)
