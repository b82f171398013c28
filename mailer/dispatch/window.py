"""Local-time windows: deliver between two hours of the day in each recipient's own zone.

A journalist in Almaty and one in Warsaw both get a 09:00–11:00 mailing at nine their time.
Pure functions over aware datetimes; unknown zones count as UTC.
"""

from __future__ import annotations

import zoneinfo
from datetime import UTC, datetime, time, timedelta
from functools import cache


@cache
def _zone(name: str) -> zoneinfo.ZoneInfo:
    try:
        return zoneinfo.ZoneInfo(name or "UTC")
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo("UTC")


def check_window(start: object, end: object) -> tuple[int, int]:
    """``(start, end)`` hours if 0 ≤ start < end ≤ 24, else ValueError saying why."""
    if not all(isinstance(h, int) and not isinstance(h, bool) for h in (start, end)):
        raise ValueError("the window is two whole hours, e.g. [9, 17]")
    assert isinstance(start, int) and isinstance(end, int)  # noqa: S101 (narrowing for mypy)
    if not 0 <= start < end <= 24:
        raise ValueError("the window needs 0 ≤ start < end ≤ 24 (local hours)")
    return start, end


def next_start(now: datetime, timezone: str, start: int, end: int) -> datetime | None:
    """None when ``now`` is inside the window where the recipient lives, else the next opening
    of the window (in UTC)."""
    local = now.astimezone(_zone(timezone))
    if start <= local.hour < end:
        return None
    day = local.date() if local.hour < start else local.date() + timedelta(days=1)
    opening = datetime.combine(day, time(hour=start), tzinfo=_zone(timezone))
    return opening.astimezone(UTC)
