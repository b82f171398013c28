"""Decoding, sniffing and header mapping, without a database: every encoding × delimiter."""

from __future__ import annotations

import io
from typing import Any

import pytest

from mailer.contacts.importing.columns import check_mapping, mapping_from_header
from mailer.contacts.importing.reader import detect_format, open_records, sniff_delimiter
from mailer.errors import BadRequest, PayloadTooLarge
from tests.contacts.importing.helpers import csv_bytes, row

ROWS = [row("anna@example.com", "Анна", "Иванова"), row("ерлан@пример.испытание", "Ерлан")]
LIMIT = 10_000_000


def read(data: bytes) -> tuple[str, str, list[str], list[tuple[int, list[str]]]]:
    stream = io.BytesIO(data)
    records = open_records(stream, detect_format(stream, LIMIT))
    rows = [(number, cells) for number, cells, _ in records.rows]
    return records.format.label, records.delimiter, records.header, rows


@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
@pytest.mark.parametrize(("encoding", "label"), [
    ("utf-8", "UTF-8"), ("utf-8-sig", "UTF-8 with byte-order mark"),
    ("utf-16-le", "UTF-16 LE"), ("utf-16-be", "UTF-16 BE"), ("cp1251", "Windows-1251")])
def test_every_encoding_and_delimiter(encoding: str, label: str, delimiter: str) -> None:
    data = csv_bytes(ROWS, delimiter=delimiter, encoding=encoding)
    found_label, found_delimiter, header, rows = read(data)
    assert (found_label, found_delimiter) == (label, delimiter)
    assert header[0] == "email"
    assert rows == [(2, ROWS[0]), (3, ROWS[1])]


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be"])
def test_utf16_without_a_byte_order_mark(encoding: str) -> None:
    data = "email,first_name\r\nanna@example.com,Анна\r\n".encode(encoding)
    label, _, _, rows = read(data)
    assert label == encoding.upper().replace("UTF-16-", "UTF-16 ")
    assert rows == [(2, ["anna@example.com", "Анна"])]


def test_windows_1251_is_chosen_only_when_the_bytes_are_not_utf8() -> None:
    # Mostly ASCII with one Cyrillic name far down the file: the whole file is checked.
    lines = ["email,first_name"] + [f"p{i}@example.com,Anna" for i in range(20_000)]
    lines.append("last@example.com,Мария")
    label, _, _, rows = read("\r\n".join(lines).encode("cp1251"))
    assert label == "Windows-1251"
    assert rows[-1][1] == ["last@example.com", "Мария"]
    label, _, _, _ = read("\r\n".join(lines).encode("utf-8"))
    assert label == "UTF-8"


def test_the_size_limit_is_checked_first() -> None:
    stream = io.BytesIO(b"email\n" + b"a@example.com\n" * 100)
    with pytest.raises(PayloadTooLarge):
        detect_format(stream, 100)


@pytest.mark.parametrize("data", [b"", b"\xef\xbb\xbf \r\n", b"\xff\xfe", b"email\x00,name\n"])
def test_empty_and_binary_files_are_refused(data: bytes) -> None:
    with pytest.raises(BadRequest):
        detect_format(io.BytesIO(data), LIMIT)


@pytest.mark.parametrize(("line", "delimiter"), [
    ("email,first_name;last_name", ","),          # the email column decides
    ("Name;E-mail;Outlet, Ltd", ";"),
    ("email\tname", "\t"),
    ("email", ","),
    ("Адрес;Имя;Издание", ";"),                   # no email column: the most frequent
    ('"e,mail";"name"', ";"),
])
def test_sniffing_the_delimiter(line: str, delimiter: str) -> None:
    assert sniff_delimiter(line) == delimiter


def test_header_mapping_aliases_and_conflicts() -> None:
    mapping = mapping_from_header(["E-Mail Address", "first name", "SURNAME", "Язык", "email",
                                   "Notes", "colour", ""])
    assert mapping.fields == ("email", "first_name", "last_name", "language", None, "notes",
                              None, None)
    assert mapping.ignored == ["email", "colour"]  # the second email column is not used
    assert check_mapping(["email", "email"]) == {1: "Email is already taken from column 1"}
    assert check_mapping(["first_name", None]) == {
        0: "choose the column that holds the email address"}
    assert check_mapping(["email", "favourite_colour"]) == {1: "not a contact field"}


ADDRESSES = [
    "anna@example.com", "Anna.Ivanova+press@Example.COM", "a_b-c@sub.example.org",
    "x@localhost", "x@example", "x@press.test", "x@-bad.example.com", "x@exa_mple.com",
    "x@example..com", "x.@example.com", ".x@example.com", "x..y@example.com", "@example.com",
    "x@", "", "  anna@example.com  ", "a b@example.com", "\"quoted\"@example.com",
    "o'neill@example.ie", "x@[127.0.0.1]", "журналист@пример.испытание",
    "desk@пример.испытание", "desk@xn--e1afmkfd.xn--80akhbyknj4f", "DESK@XN--E1AFMKFD.XN--P1AI",
    "a" * 64 + "@example.com", "a" * 65 + "@example.com",
    "a@" + ".".join(["b" * 63] * 4), "x@" + "b" * 64 + ".com", "x@example.com.",
    "x@1.2.3.4", "x@example.c", "x@example.123", "no-at-sign", "a@b@example.com",
]


@pytest.mark.parametrize("address", ADDRESSES)
def test_the_cached_address_rule_agrees_with_the_full_one(address: str) -> None:
    from mailer.contacts import validation
    from mailer.contacts.importing.rows import normalise_email

    def outcome(rule: Any) -> tuple[bool, str]:
        try:
            return True, rule(address)
        except validation.FieldError as exc:
            return False, str(exc)

    assert outcome(normalise_email) == outcome(validation.normalise_email)
