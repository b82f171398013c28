"""Numbers typed into web forms and query strings: anything that is no row id is ignored, never
a crash (``"²".isdigit()`` is true, but ``int("²")`` fails; ids beyond 2**31-1 name no row)."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from mailer.http import MAX_ID, parse_id
from tests.conftest import login


@pytest.mark.parametrize("raw", ["²", "٣", "１", "-1", "0", "", " ", str(MAX_ID + 1), "1e3"])
def test_parse_id_refuses_what_is_no_row_id(raw: str) -> None:
    assert parse_id(raw) is None


def test_parse_id_reads_plain_ids() -> None:
    assert parse_id("42") == 42
    assert parse_id(" 7 ") == 7
    assert parse_id(str(MAX_ID)) == MAX_ID


@pytest.mark.parametrize("path", [
    "/contacts/?page=²", "/contacts/?page=99999999999999999999", "/lists/?page=²",
    "/suppressions/?page=٣",
])
def test_pages_ignore_odd_page_numbers(app: Flask, client: FlaskClient,
                                       staff: dict[str, Any], path: str) -> None:
    login(client, "admin@example.com")
    response = client.get(path)
    assert response.status_code == 200, (path, response.status_code)
