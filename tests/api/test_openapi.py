"""The OpenAPI document: valid OpenAPI 3.1, served as written, and true to the app's routes.

A route added under /api/v1 without documentation fails here, and so does a documented
operation the app no longer has.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from flask import Flask
from jsonschema.validators import Draft202012Validator

from mailer import create_app
from mailer.errors import HTTP_CODES
from mailer.web.openapi import SOURCE, document
from tests.conftest import app_config

HTTP_METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}
FLASK_VARIABLE = re.compile(r"<(?:[a-z_]+:)?([a-z_]+)>")


@pytest.fixture(scope="module")
def routes_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    """An app whose routes are read; no request here touches the database."""
    folder = tmp_path_factory.mktemp("openapi")
    yield create_app(app_config(folder / "instance", f"sqlite:///{folder / 'mailer.db'}"))


def app_operations(app: Flask) -> set[tuple[str, str]]:
    """``(path, method)`` of every /api/v1 route, paths in OpenAPI's ``{name}`` form."""
    found = set()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/") and rule.rule != "/api/v1":
            continue
        path = FLASK_VARIABLE.sub(r"{\1}", rule.rule)
        for method in rule.methods or ():
            if method not in {"HEAD", "OPTIONS"}:
                found.add((path, method.lower()))
    return found


def documented_operations(doc: dict[str, Any]) -> set[tuple[str, str]]:
    """``(path, method)`` of every operation in the document."""
    return {(path, method) for path, item in doc["paths"].items()
            for method in item if method in HTTP_METHODS}


def resolve(doc: dict[str, Any], ref: str) -> Any:
    """The target of a local ``$ref``."""
    assert ref.startswith("#/"), ref
    node: Any = doc
    for part in ref[2:].split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def walk(node: Any) -> Iterator[Any]:
    """Every dict and list inside ``node``, ``node`` included."""
    yield node
    if isinstance(node, dict):
        for value in node.values():
            yield from walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from walk(value)


def test_the_document_is_valid_openapi_3_1() -> None:
    from schemathesis.specs.openapi.definitions import OPENAPI_31

    doc = document()
    assert doc["openapi"].startswith("3.1.")
    jsonschema.validate(doc, OPENAPI_31, cls=Draft202012Validator)
    for schema in doc["components"]["schemas"].values():
        Draft202012Validator.check_schema(schema)


def test_every_reference_resolves_and_every_component_is_used() -> None:
    doc = document()
    refs = {node["$ref"] for node in walk(doc) if isinstance(node, dict) and "$ref" in node}
    for ref in refs:
        assert resolve(doc, ref) is not None, ref
    for kind, entries in doc["components"].items():
        if kind == "securitySchemes":
            continue
        for name in entries:
            assert f"#/components/{kind}/{name}" in refs, f"unused component {kind}/{name}"


def test_the_yaml_has_only_text_keys() -> None:
    """YAML turns unquoted ``200:`` or ``on:`` into numbers and booleans; JSON needs text."""
    for node in walk(document()):
        if isinstance(node, dict):
            assert all(isinstance(key, str) for key in node), list(node)


def test_every_api_route_is_documented_and_nothing_else(routes_app: Flask) -> None:
    in_app = app_operations(routes_app)
    in_doc = documented_operations(document())
    assert in_app - in_doc == set(), "routes missing from mailer/web/openapi.yaml"
    assert in_doc - in_app == set(), "documented operations the app does not have"


def test_path_parameters_match_the_routes() -> None:
    doc = document()
    for path, item in doc["paths"].items():
        named = set(re.findall(r"{([a-z_]+)}", path))
        for method, operation in item.items():
            if method not in HTTP_METHODS:
                continue
            parameters = [resolve(doc, p["$ref"]) if "$ref" in p else p
                          for p in [*item.get("parameters", []),
                                    *operation.get("parameters", [])]]
            in_path = {p["name"] for p in parameters if p["in"] == "path"}
            assert in_path == named, (method, path)


def test_every_operation_is_described_and_secured_as_the_policy_says(
        routes_app: Flask) -> None:
    from mailer.auth.policy import PUBLIC, rule_for

    doc = document()
    ids = set()
    adapter = routes_app.url_map.bind("localhost")
    for path, item in doc["paths"].items():
        for method, operation in item.items():
            if method not in HTTP_METHODS:
                continue
            assert operation.get("summary"), (method, path)
            assert operation["operationId"] not in ids
            ids.add(operation["operationId"])
            sample = re.sub(r"{[a-z_]+}", "1", path)
            endpoint, _ = adapter.match(sample, method=method.upper())
            with routes_app.test_request_context(sample, method=method.upper()):
                public = rule_for(endpoint, method.upper()) == PUBLIC
            assert (operation.get("security") == []) == public, (method, path)
            statuses = set(operation["responses"])
            if not public:
                assert "401" in statuses, (method, path)
            # Every request is refused with 400 when it holds a NUL character anywhere.
            assert "400" in statuses, (method, path)


def test_the_error_codes_are_those_the_handler_gives() -> None:
    codes = document()["components"]["schemas"]["Error"]["properties"]["error"]["properties"][
        "code"]["enum"]
    assert set(HTTP_CODES.values()) <= set(codes)
    assert {"internal_error", "csrf_failed", "http_error"} <= set(codes)


def test_the_served_json_is_the_source(routes_app: Flask) -> None:
    import yaml

    response = routes_app.test_client().get("/api/v1/openapi.json")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert response.get_json() == yaml.safe_load(Path(SOURCE).read_text(encoding="utf-8"))


def test_the_document_needs_no_token_and_refuses_cookies_nothing_else(
        routes_app: Flask) -> None:
    client = routes_app.test_client()
    assert client.get("/api/v1/openapi.json",
                      headers={"Authorization": "Bearer not-a-token"}).status_code == 200
    assert client.post("/api/v1/openapi.json").status_code == 405
    assert client.get("/api/v1/me").status_code == 401
