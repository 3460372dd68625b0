"""Rate limits: at most `limit` requests per `window_s` for each key (a user, an API key), counted where `[store]
rate_limits` says.

`RateLimiter` counts in this process's memory, in a sliding window of request times per key: exact, free, and
each process its own count (behind N processes a key gets N times its limit). `bot.store.rate_limits.
DatabaseRateLimiter` counts in Deskbot's database, in fixed windows, so that one count holds across every process
and machine on that store, at the price of one upsert per request.

`bot.store.rate_limits.rate_limiter(settings, database, scope, ...)` picks one: `[store] rate_limits = "process"`,
`"database"`, or `"auto"` (the default): the database when `[store] url` names a database server (the setting of
several instances on one store), memory for the default SQLite file (one machine). Both have `allow(key)` and
`retry_after_s(key)`; the async `allow(limiter, key)` calls a database limiter in a worker thread, so the event loop
never waits on it.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable
from typing import Protocol


class RateLimit(Protocol):
    """A limit of `limit` requests per `window_s` for each key; `blocking`: `allow` waits on a database."""

    limit: int
    window_s: float
    blocking: bool

    def allow(self, key: str) -> bool:
        """Count one request of `key`; False when it is over its limit."""
        ...

    def retry_after_s(self, key: str) -> float:
        """Seconds until `key` may send again (0 when it may now)."""
        ...


class RateLimiter:
    """A sliding window of request times per key, in this process."""

    blocking = False

    def __init__(self, limit: int, window_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self.window_s = window_s
        self._clock = clock
        self._sent: dict[str, deque[float]] = {}

    def allow(self, key: str) -> bool:
        now = self._clock()
        sent = self._sent.setdefault(key, deque())
        while sent and now - sent[0] >= self.window_s:
            sent.popleft()
        if len(sent) >= self.limit:
            return False
        sent.append(now)
        if len(self._sent) > 10_000:  # forget keys that went quiet, so the table stays small
            self._sent = {
                user: times for user, times in self._sent.items() if times and now - times[-1] < self.window_s
            }
        return True

    def retry_after_s(self, key: str) -> float:
        sent = self._sent.get(key)
        if not sent or len(sent) < self.limit:
            return 0.0
        return max(0.0, sent[-self.limit] + self.window_s - self._clock())


async def allow(limiter: RateLimit, key: str) -> bool:
    """`limiter.allow(key)` without blocking the event loop: a database limiter counts in a worker thread."""
    if limiter.blocking:
        return await asyncio.to_thread(limiter.allow, key)
    return limiter.allow(key)
