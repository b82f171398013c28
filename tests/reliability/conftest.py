"""The fault suites' switches: the `long` marker, skipped unless MAILER_LONG_TESTS=1.

The default run of tests/reliability stays within a few minutes on a two-core machine; the long
variants (thousands of recipients, many kills, the 100,000-recipient memory check) run with

    MAILER_LONG_TESTS=1 ./scripts/test tests/reliability
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.reliability.support import Workers

LONG_TESTS = os.environ.get("MAILER_LONG_TESTS") == "1"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "long: a long fault or scale variant; runs only with MAILER_LONG_TESTS=1")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if LONG_TESTS:
        return
    skip = pytest.mark.skip(reason="long variant: set MAILER_LONG_TESTS=1 to run it")
    for item in items:
        if item.get_closest_marker("long") is not None:
            item.add_marker(skip)


@pytest.fixture
def workers(stack: Any, tmp_path: Path) -> Iterator[Workers]:
    """Real `mailer worker -B` processes for the stack, started by the test; all gone after."""
    pool = Workers(stack, tmp_path)
    yield pool
    pool.close()
