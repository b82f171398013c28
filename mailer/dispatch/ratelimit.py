"""Sending rates shared by every worker: a global rate and per-destination-domain rates.

The algorithm is GCRA (the generic cell rate algorithm, a token bucket with one number of
state): each limiter keeps a "theoretical arrival time" (TAT). Reserving a slot moves the TAT
one emission interval ahead and says how long the caller must wait before using the slot.
With Redis as broker the TAT lives in Redis and is updated by one Lua script (atomic across
machines); in embedded mode it lives in the ``rate_limits`` table, updated under the
database's write lock.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from mailer.db import db
from mailer.dispatch.models import RateLimitState


@dataclass(frozen=True)
class Rate:
    """At most ``count`` messages per ``period`` seconds, in bursts of up to ``burst``."""

    count: int
    period: float
    burst: int = 1

    @property
    def interval(self) -> float:
        """Seconds between two messages at the steady rate."""
        return self.period / self.count

    @property
    def tolerance(self) -> float:
        """How far ahead of the steady rate a burst may run."""
        return self.interval * max(self.burst - 1, 0)

    @classmethod
    def parse(cls, text: str) -> Rate:
        """Parse ``"100/s"``, ``"600/min"``, ``"5000/h"``, with a burst: ``"600/min:20"``."""
        spec, _, burst = text.strip().partition(":")
        count, _, unit = spec.partition("/")
        seconds = {"s": 1.0, "sec": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0, "hour": 3600.0}
        if unit.strip().lower() not in seconds or not count.strip().isdigit() or int(count) < 1:
            raise ValueError(f"not a rate: {text!r} (use e.g. 50/s, 600/min, 5000/h)")
        return cls(int(count), seconds[unit.strip().lower()], int(burst) if burst else 1)


def reserve_delay(tat: float, now: float, rate: Rate) -> tuple[float, float]:
    """GCRA step: the new TAT and the seconds to wait before the reserved slot."""
    start = max(tat, now)
    return start + rate.interval, max(0.0, start - rate.tolerance - now)


class Limiter(Protocol):
    """Reserves slots on named rates."""

    def reserve(self, key: str, rate: Rate, max_wait: float) -> float | None:
        """Seconds to wait before sending, or None if the wait would exceed ``max_wait``
        (then nothing is reserved)."""


class DatabaseLimiter:
    """GCRA state in the ``rate_limits`` table (embedded mode)."""

    def reserve(self, key: str, rate: Rate, max_wait: float) -> float | None:
        now = time.time()
        dialect = db.session.get_bind().dialect.name
        insert = pg_insert if dialect == "postgresql" else sqlite_insert
        db.session.execute(insert(RateLimitState).values(key=key, tat=0.0)
                           .on_conflict_do_nothing(index_elements=["key"]))
        tat = db.session.scalar(select(RateLimitState.tat).where(RateLimitState.key == key)
                                .with_for_update()) or 0.0
        new_tat, wait = reserve_delay(tat, now, rate)
        if wait > max_wait:
            db.session.rollback()
            return None
        db.session.execute(update(RateLimitState).where(RateLimitState.key == key)
                           .values(tat=new_tat))
        db.session.commit()
        return wait


# KEYS[1]: the limiter; ARGV: now, interval, tolerance, max_wait. Returns the wait in
# milliseconds, or -1 when it would exceed max_wait (nothing reserved).
GCRA_LUA = """
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
local now = tonumber(ARGV[1])
local start = math.max(tat, now)
local wait = math.max(0, start - tonumber(ARGV[3]) - now)
if wait > tonumber(ARGV[4]) then return -1 end
local new_tat = start + tonumber(ARGV[2])
redis.call('SET', KEYS[1], tostring(new_tat), 'PX', math.ceil((new_tat - now) * 1000) + 1000)
return math.floor(wait * 1000)
"""


class RedisLimiter:
    """GCRA state in Redis, shared by workers on every machine."""

    def __init__(self, url: str, prefix: str = "mailer:rate:") -> None:
        import redis

        self._redis = redis.Redis.from_url(url)
        self._script = self._redis.register_script(GCRA_LUA)
        self._prefix = prefix

    def reserve(self, key: str, rate: Rate, max_wait: float) -> float | None:
        waited = int(self._script(keys=[self._prefix + key],
                                  args=[time.time(), rate.interval, rate.tolerance, max_wait]))
        return None if waited < 0 else waited / 1000.0
