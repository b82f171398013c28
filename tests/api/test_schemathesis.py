"""Generated requests against every documented operation, answers checked against the document.

Schemathesis takes the document (test_openapi.py checks the app serves exactly it), generates
valid and invalid requests for each operation, sends them to the app in-process (WSGI) with an
admin token, and checks that no answer is a server error and that every status, content type,
header and body is as documented. One app on
SQLite for the module, seeded through the API so that small path ids (1, 2, …) often exist and
the happy paths run, not only the 404s. Derandomised, so a failure reproduces on every run.
"""

from __future__ import annotations

import copy
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from mailer import create_app
from mailer.web.openapi import document
from tests.conftest import api_token, app_config, bearer, make_user

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_headers_conformance, response_schema_conformance]


def _post(client: FlaskClient, token: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = client.post(path, json=body, headers=bearer(token))
    assert response.status_code in {200, 201, 202}, (path, response.get_json())
    data: dict[str, Any] = response.get_json()
    return data


def seed(app: Flask, token: str) -> None:
    """Two of everything the paths name, made through the API as a client would."""
    client = app.test_client()
    contacts = [_post(client, token, "/api/v1/contacts", {
        "email": f"desk{n}@example.kz", "first_name": "Айгерим", "last_name": f"Desk {n}",
        "outlet": "Kazinform", "country": "KZ", "language": "ru", "timezone": "Asia/Almaty",
        "tags": ["economy"]})["id"] for n in (1, 2, 3)]
    lists = [_post(client, token, "/api/v1/lists", {"name": f"Desk list {n}"})["id"]
             for n in (1, 2)]
    for list_id in lists:
        _post(client, token, f"/api/v1/lists/{list_id}/members", {"contact_ids": contacts})
    _post(client, token, "/api/v1/segments", {"name": "Russian readers",
                                              "filters": {"language": ["ru"]}})
    _post(client, token, "/api/v1/segments", {"name": "Lists",
                                              "filters": {"list_id": [lists[0]]}})
    releases = [_post(client, token, "/api/v1/releases", {
        "title": f"Water report {n}", "default_language": "en",
        "translations": {"en": {"subject": "Water", "preheader": "", "body": "# Water\n\nText."},
                         "ru": {"subject": "Вода", "preheader": "", "body": "# Вода\n\nТекст."}},
    })["id"] for n in (1, 2)]
    client.put(f"/api/v1/releases/{releases[0]}/translations/ru", headers=bearer(token),
               json={"subject": "Вода и климат", "body": "# Вода\n\nНовый текст."})
    for release_id in releases:
        _post(client, token, "/api/v1/mailings", {"release_id": release_id, "list_ids": lists})
    _post(client, token, "/api/v1/suppressions", {"email": "gone@example.org",
                                                  "reason": "manual"})


@pytest.fixture(scope="module")
def fuzzed_app(sqlite_template: Path,
               tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Flask, str]]:
    """The app on its own migrated SQLite copy, seeded, and an admin token."""
    folder = tmp_path_factory.mktemp("schemathesis")
    shutil.copyfile(sqlite_template, folder / "mailer.db")
    app = create_app(app_config(folder / "instance", f"sqlite:///{folder / 'mailer.db'}"))
    make_user(app, "admin@example.com", "admin")
    token = api_token(app, "admin@example.com")
    seed(app, token)
    yield app, token
    from mailer.db import db

    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def _raw_message(ctx: Any, value: Any) -> bytes:
    """A generated bounce body as the bytes of a raw message (garbage must not crash intake)."""
    return value if isinstance(value, bytes) else str(value).encode("utf-8", "surrogatepass")


schemathesis.serializer("message/rfc822", "message/global")(_raw_message)

# A copy: loading may rewrite the dict, and the app serves the cached original.
schema = schemathesis.openapi.from_dict(copy.deepcopy(document()))


@schema.parametrize()
@settings(max_examples=8, derandomize=True, deadline=None, database=None,
          suppress_health_check=list(HealthCheck))
def test_api_answers_as_documented(case: schemathesis.Case,
                                   fuzzed_app: tuple[Flask, str]) -> None:
    app, _ = fuzzed_app
    # A fresh token each time: the fuzzed DELETE /tokens/{id} may revoke any earlier one.
    token = api_token(app, "admin@example.com")
    case.call_and_validate(app=app, headers=bearer(token), checks=CHECKS)
