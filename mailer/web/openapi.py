"""The OpenAPI document of the REST API v1: maintained as ``openapi.yaml``, served as JSON.

The YAML file beside this module is the source (comments and all); it is parsed once per
process and answered at ``GET /api/v1/openapi.json``. It is public, as API documentation
usually is: it describes the API and holds no data. The tests keep it true to the app's routes
and run generated requests against it (tests/api).
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from flask import Blueprint, Response
from flask.typing import ResponseReturnValue

from mailer.auth.policy import public

SOURCE = Path(__file__).with_name("openapi.yaml")

bp = Blueprint("openapi", __name__, url_prefix="/api/v1")


@cache
def document() -> dict[str, Any]:
    """The OpenAPI document as a dictionary, read from ``openapi.yaml`` once."""
    with SOURCE.open(encoding="utf-8") as source:
        loaded: dict[str, Any] = yaml.safe_load(source)
    return loaded


@cache
def _document_json() -> str:
    return json.dumps(document(), ensure_ascii=False, indent=1)


@bp.get("/openapi.json")
@public
def openapi_json() -> ResponseReturnValue:
    """The OpenAPI 3.1 document of this API (no token needed)."""
    response = Response(_document_json(), mimetype="application/json")
    response.headers["Cache-Control"] = "public, max-age=300"
    return response
