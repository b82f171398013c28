"""``mailer contacts import FILE [--list NAME] [--update-existing]``."""

from __future__ import annotations

from pathlib import Path

from flask import Flask
from flask.testing import FlaskCliRunner
from sqlalchemy import create_engine, text

from tests.contacts.factories import make_contact
from tests.contacts.importing.helpers import contacts, counts, csv_bytes, row
from tests.support.processes import BIN, run_command

MAILER = str(BIN / "mailer")


def write(tmp_path: Path, data: bytes, name: str = "journalists.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_import_into_a_new_list_prints_the_report(app: Flask, runner: FlaskCliRunner,
                                                  tmp_path: Path) -> None:
    path = write(tmp_path, csv_bytes([row("anna@example.com", "Анна"), row("not-an-address"),
                                      row("bob@example.org")], delimiter=";",
                                     encoding="cp1251"))
    result = runner.invoke(args=["contacts", "import", str(path), "--list", "Press club"])
    assert result.exit_code == 0, result.output
    assert "created:    2" in result.output
    assert "rejected:   1" in result.output
    assert "row 3, email: An email address must have an @-sign." in result.output
    assert "Windows-1251, semicolon-separated" in result.output
    stored = contacts(app)
    assert stored["anna@example.com"]["first_name"] == "Анна"
    assert stored["anna@example.com"]["source_detail"] == "journalists.csv"
    assert stored["anna@example.com"]["lists"] == stored["bob@example.org"]["lists"] != []

    again = runner.invoke(args=["contacts", "import", str(path), "--list", "Press club"])
    assert again.exit_code == 0, again.output
    assert "skipped:    2" in again.output
    assert counts(app)["contact_lists"] == 1  # found by name the second time


def test_update_existing(app: Flask, runner: FlaskCliRunner, tmp_path: Path) -> None:
    make_contact(app, "anna@example.com", first_name="Old")
    path = write(tmp_path, csv_bytes([row("anna@example.com", "New")]))
    result = runner.invoke(args=["contacts", "import", str(path)])
    assert "skipped:    1" in result.output
    assert contacts(app)["anna@example.com"]["first_name"] == "Old"
    result = runner.invoke(args=["contacts", "import", str(path), "--update-existing"])
    assert result.exit_code == 0, result.output
    assert "updated:    1" in result.output
    assert contacts(app)["anna@example.com"]["first_name"] == "New"


def test_a_refused_file_exits_non_zero_and_writes_nothing(app: Flask, runner: FlaskCliRunner,
                                                          tmp_path: Path) -> None:
    before = counts(app)
    binary = write(tmp_path, b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "photo.csv")
    result = runner.invoke(args=["contacts", "import", str(binary), "--list", "New list"])
    assert result.exit_code == 1
    assert "This is a PNG image, not a CSV file" in result.output
    no_email = write(tmp_path, b"name,outlet\nAnna,Daily\n", "names.csv")
    result = runner.invoke(args=["contacts", "import", str(no_email)])
    assert result.exit_code == 1
    assert "no header row with an email column" in result.output
    missing = runner.invoke(args=["contacts", "import", str(tmp_path / "nowhere.csv")])
    assert missing.exit_code == 2
    assert counts(app) == before


def test_the_console_script_in_a_real_process(tmp_path: Path) -> None:
    """`mailer db upgrade` then `mailer contacts import`: the report on stdout, exit codes."""
    env = {"MAILER_INSTANCE": str(tmp_path / "instance")}
    assert run_command([MAILER, "db", "upgrade"], env).returncode == 0
    path = write(tmp_path, csv_bytes([row(f"person{i}@example.com") for i in range(300)]
                                     + [row("журналист@пример.испытание", "Гүлнар")],
                                     encoding="utf-16-le", delimiter="\t"))
    result = run_command([MAILER, "contacts", "import", str(path), "--list", "Desk"], env)
    assert result.returncode == 0, result.stderr
    assert "created:    301" in result.stdout
    assert "UTF-16 LE, tab-separated" in result.stdout
    assert "Importing journalists.csv" in result.stderr  # the progress bar's label
    engine = create_engine(f"sqlite:///{tmp_path / 'instance' / 'mailer.db'}")
    with engine.connect() as conn:
        assert conn.scalar(text("SELECT count(*) FROM contacts")) == 301
        assert conn.scalar(text("SELECT count(*) FROM list_members")) == 301
        assert conn.scalar(text(
            "SELECT first_name FROM contacts WHERE email_key LIKE 'журналист@xn--%'")) == "Гүлнар"
    engine.dispose()
    refused = run_command([MAILER, "contacts", "import", str(write(tmp_path, b"", "e.csv"))],
                          env)
    assert refused.returncode == 1
    assert "The file is empty." in refused.stderr
