"""Helpers of the releases tests: an API caller per role and the sample release fixtures."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from tests.conftest import bearer

FIXTURES = Path(__file__).resolve().parents[2].parent / "shared" / "fixtures" / "releases"


@dataclass
class Api:
    """Calls /api/v1 as one staff member."""

    client: FlaskClient
    token: str

    def __call__(self, method: str, path: str, json: Any = None, **kw: Any) -> TestResponse:
        return self.client.open(f"/api/v1{path}", method=method, json=json,
                                headers=bearer(self.token), **kw)


@pytest.fixture
def api(client: FlaskClient, staff: dict[str, dict[str, Any]]) -> Api:
    """The API as an editor."""
    return Api(client, staff["editor"]["token"])


@pytest.fixture
def viewer_api(client: FlaskClient, staff: dict[str, dict[str, Any]]) -> Api:
    """The API as a viewer."""
    return Api(client, staff["viewer"]["token"])


def text(subject: str = "Conference in Dushanbe", body: str = "# Hello\n\nNews.",
         preheader: str = "Sixty NGOs meet") -> dict[str, str]:
    """A translation body."""
    return {"subject": subject, "preheader": preheader, "body": body}


def release_body(**kw: Any) -> dict[str, Any]:
    """A valid POST /releases body; keyword arguments replace its fields."""
    body: dict[str, Any] = {"title": "Torture prevention conference", "default_language": "en",
                            "translations": {"en": text()}}
    body.update(kw)
    return body


@pytest.fixture
def make_release(api: Api) -> Callable[..., dict[str, Any]]:
    """Create a release through the API and return its JSON."""

    def make(**kw: Any) -> dict[str, Any]:
        response = api("POST", "/releases", release_body(**kw))
        assert response.status_code == 201, response.get_json()
        return response.get_json()

    return make


def load_fixture_translations() -> dict[str, dict[str, str]]:
    """The sample release of ../shared/fixtures, by language; skips when it is absent."""
    files = sorted(FIXTURES.glob("*.md")) if FIXTURES.is_dir() else []
    if not files:
        pytest.skip(f"sample release fixtures not found in {FIXTURES}")
    found: dict[str, dict[str, str]] = {}
    for path in files:
        raw = path.read_text(encoding="utf-8")
        _, front, body = raw.split("---\n", 2)
        meta = yaml.safe_load(front)
        found[meta["language"]] = {"subject": meta["subject"],
                                   "preheader": meta.get("preheader", ""),
                                   "body": body.strip(), "embargo": str(meta.get("embargo", ""))}
    return found


@pytest.fixture
def sample_release(make_release: Callable[..., dict[str, Any]]) -> dict[str, Any]:
    """The shared sample release in all its languages, created through the API."""
    found = load_fixture_translations()
    translations = {lang: {k: v for k, v in t.items() if k != "embargo"}
                    for lang, t in found.items()}
    return make_release(title="Regional conference", default_language="en",
                        embargo_at=found["en"]["embargo"] or None, translations=translations)
