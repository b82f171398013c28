"""Local-time windows, as pure functions."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from mailer.dispatch.window import check_window, next_start


def test_inside_the_window_sends_now() -> None:
    # 04:30 UTC is 09:30 in Almaty (UTC+5).
    now = datetime(2026, 12, 1, 4, 30, tzinfo=UTC)
    assert next_start(now, "Asia/Almaty", 9, 11) is None


def test_before_the_window_waits_for_the_local_opening() -> None:
    now = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)  # 06:00 in Almaty, 02:00 in Warsaw
    assert next_start(now, "Asia/Almaty", 9, 11) == datetime(2026, 12, 1, 4, 0, tzinfo=UTC)
    assert next_start(now, "Europe/Warsaw", 9, 11) == datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


def test_after_the_window_waits_for_tomorrow() -> None:
    now = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)  # 17:00 in Almaty
    assert next_start(now, "Asia/Almaty", 9, 11) == datetime(2026, 12, 2, 4, 0, tzinfo=UTC)


def test_unknown_zone_counts_as_utc() -> None:
    now = datetime(2026, 12, 1, 7, 0, tzinfo=UTC)
    assert next_start(now, "Mars/Olympus", 9, 11) == datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize("window", [(9, 9), (11, 9), (-1, 5), (0, 25), ("9", 11), (True, 5)])
def test_bad_windows_are_refused(window: tuple[object, object]) -> None:
    with pytest.raises(ValueError, match=r"window|hours"):
        check_window(*window)
