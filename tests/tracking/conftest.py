"""Tracking tests write their buffered hits before their database goes away."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True)
def _drain_hits(request: pytest.FixtureRequest) -> Iterator[None]:
    # Asked for at set-up, so this tears down first: before the app and its database go.
    apps = [getattr(value, "app", value) for value in
            (request.getfixturevalue(name) for name in ("app", "stack")
             if name in request.fixturenames)]
    yield
    for app in apps:
        buffer = app.extensions.get("tracking_hits")
        if buffer is not None:
            with contextlib.suppress(Exception):
                buffer.flush()
            buffer._pending.clear()
