"""Hostile CSV files into the contacts importer: a clear refusal or a consistent import, never a
crash, and nothing written when the file is refused."""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest
from flask import Flask
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from mailer import create_app
from tests.conftest import app_config

FUZZ = settings(max_examples=500, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])

HEADERS = ["first_name", "last_name", "name", "outlet", "language",
           "languages", "beat", "tags", "notes", "country", "tracking", "", "email;outlet"]
CELLS = st.one_of(
    st.text(max_size=40),
    st.sampled_from(["a@example.com", "b@example.com", "A@EXAMPLE.COM", "not-an-email",
                     "=HYPERLINK(\"http://x.test\")", "ru", "en,ru", "zz", "yes", "no",
                     "\x00", "\ufeff", "\r", "\"", "\"\"\"", ";", "\t", "é" * 300,
                     "x" * 5000, "@example.com", "a@b", "a@example.com\r\nBcc: c@example.com"]),
)


@pytest.fixture(scope="module")
def import_app(tmp_path_factory: pytest.TempPathFactory, sqlite_template: object) -> Iterator[
        Flask]:
    """One app for every example (a fresh database per example would take minutes)."""
    import shutil
    from pathlib import Path

    folder = tmp_path_factory.mktemp("fuzz-import")
    shutil.copyfile(Path(str(sqlite_template)), folder / "mailer.db")
    app = create_app(app_config(folder / "instance", f"sqlite:///{folder / 'mailer.db'}",
                                MAILER_IMPORT_MAX_BYTES=20_000))
    yield app
    from mailer.db import db

    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def contact_count() -> int:
    from sqlalchemy import func, select

    from mailer.contacts.models import Contact
    from mailer.db import db

    return db.session.scalar(select(func.count(Contact.id))) or 0


def run_import(app: Flask, data: bytes) -> None:
    """Import ``data``: a report whose counts match the rows written, or a product error that
    says why and writes nothing."""
    from mailer.contacts.importing.service import ImportOptions, import_contacts
    from mailer.db import db
    from mailer.errors import MailerError

    with app.app_context():
        before = contact_count()
        try:
            report = import_contacts(io.BytesIO(data), ImportOptions(filename="fuzz.csv"))
        except MailerError as error:
            assert error.message.strip(), f"a refusal with no message: {error!r}"
            assert error.status < 500, f"{error!r} on {data[:200]!r}"
            db.session.rollback()
            assert contact_count() == before, f"a refused file wrote contacts: {data[:200]!r}"
            event(f"refused: {type(error).__name__}")
            return
        event("imported, some created" if report.created else "imported, none created")
        assert report.rows == (report.created + report.updated + report.skipped
                               + report.duplicates + report.rejected)
        assert contact_count() == before + report.created, data[:200]


@FUZZ
@given(data=st.binary(max_size=3000))
def test_arbitrary_bytes(import_app: Flask, data: bytes) -> None:
    run_import(import_app, data)


@FUZZ
@given(text=st.text(max_size=2000),
       encoding=st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "cp1251", "latin-1"]))
def test_arbitrary_text(import_app: Flask, text: str, encoding: str) -> None:
    run_import(import_app, text.encode(encoding, errors="replace"))


EMAILS = st.builds("r{}@example.com".format, st.integers(0, 10**9)) | st.sampled_from(
    ["a@example.com", "A@EXAMPLE.COM", " a@example.com ", "not-an-email", "", "a@b",
     "=cmd|' /C calc'!A0", "a@example.com\r\nBcc: c@example.com", "<a@example.com>"])


@FUZZ
@given(header=st.tuples(st.sampled_from(["email", "Email", "E-mail", "EMAIL "]),
                        st.lists(st.sampled_from(HEADERS) | st.text(max_size=12), max_size=7))
       .map(lambda parts: [parts[0], *parts[1]]),
       rows=st.lists(st.tuples(EMAILS, st.lists(CELLS, max_size=9))
                     .map(lambda parts: [parts[0], *parts[1]]), max_size=12),
       delimiter=st.sampled_from([",", ";", "\t", "|"]),
       newline=st.sampled_from(["\n", "\r\n", "\r"]),
       encoding=st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "cp1251"]))
def test_csv_shaped_files(import_app: Flask, header: list[str], rows: list[list[str]],
                          delimiter: str, newline: str, encoding: str) -> None:
    import csv

    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator=newline)
    for line in [header, *rows]:
        writer.writerow(line)
    run_import(import_app, buffer.getvalue().encode(encoding, errors="replace"))


def test_over_the_size_limit_is_refused_and_writes_nothing(import_app: Flask) -> None:
    from mailer.contacts.importing.service import ImportOptions, import_contacts
    from mailer.errors import PayloadTooLarge

    rows = "".join(f"r{n}@example.com,Outlet\n" for n in range(2000))
    with import_app.app_context():
        before = contact_count()
        with pytest.raises(PayloadTooLarge):
            import_contacts(io.BytesIO(("email,outlet\n" + rows).encode()),
                            ImportOptions(filename="big.csv"))
        assert contact_count() == before
