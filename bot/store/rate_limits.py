"""`DatabaseRateLimiter`: request counts kept in Deskbot's database, so that a limit holds across every process and
machine on one store (HTTP instances behind a load balancer, their answer processes).

Each key counts in fixed windows of `window_s` seconds, numbered from the Unix epoch (`floor(time / window_s)`), so
every process that reads the same wall clock counts into the same row. One `allow` is one statement, an atomic upsert
that adds one to the key's row for the current window and returns the new count:

    INSERT INTO rate_counts (scope, key, window_index, count) VALUES (:scope, :key, :window_index, 1)
    ON CONFLICT (scope, key, window_index) DO UPDATE SET count = rate_counts.count + 1 RETURNING count

(PostgreSQL and SQLite both have it), so two instances that admit the same key at the same moment cannot both read
the old count. Past the limit the key is refused until its window ends; refused requests still count, which does not
matter: the window's end is what lets the key through again. `scope` keeps limits apart (the guard's per-user limit,
the HTTP API's per-key limit), each with its own window.

A fixed window lets a key send up to twice its limit around a window's end (the end of one, the start of the next),
where the in-process `bot.stages.guard.RateLimiter` slides its window; that is the price of one row and one statement
per request. Rows of past windows are deleted by the first `allow` of each process in each new window. Processes
whose clocks disagree by a fraction of a window count into neighbouring windows for that fraction.

A database that does not answer does not stop the bot (the conversation store answers without memory then, too):
the limiter logs a warning and counts in this process (`bot.rate_limits.RateLimiter`) for `FALLBACK_S`, then tries
the database again, so an outage costs one connection timeout per `FALLBACK_S`, not one per message.

`rate_limiter(settings, database, scope, ...)` chooses between it and the in-process counts (`[store] rate_limits`,
see `bot.rate_limits`).
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable

from sqlalchemy import BigInteger, Table, delete
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Field

from bot.config import Settings
from bot.rate_limits import RateLimit, RateLimiter
from bot.store.database import Database, StoreError, StoreTable

log = logging.getLogger(__name__)

FALLBACK_S = 10.0


class RateCount(StoreTable, table=True):
    __tablename__ = "rate_counts"

    scope: str = Field(primary_key=True, max_length=20)
    key: str = Field(primary_key=True)
    window_index: int = Field(primary_key=True, sa_type=BigInteger)
    count: int


RATE_COUNTS: Table = RateCount.__table__  # type: ignore[attr-defined]


class DatabaseRateLimiter:
    blocking = True

    def __init__(
        self, database: Database, scope: str, limit: int, window_s: float, clock: Callable[[], float] = time.time
    ) -> None:
        self.limit = limit
        self.window_s = window_s
        self._database = database
        self._scope = scope
        self._clock = clock
        self._pruned_window = -1
        self._pruning = threading.Lock()
        self._upgraded = False
        self._in_process = RateLimiter(limit, window_s)
        self._database_down_until = 0.0

    def _window(self) -> int:
        return math.floor(self._clock() / self.window_s)

    def allow(self, key: str) -> bool:
        if time.monotonic() < self._database_down_until:
            return self._in_process.allow(key)
        try:
            return self._counted_in_database(key)
        except StoreError as error:
            log.warning("%s: rate limits count in this process for %gs", error, FALLBACK_S)
            self._database_down_until = time.monotonic() + FALLBACK_S
            return self._in_process.allow(key)

    def _counted_in_database(self, key: str) -> bool:
        if not self._upgraded:
            self._database.upgrade()
            self._upgraded = True
        window = self._window()
        dialect = postgresql if self._database.engine.dialect.name == "postgresql" else sqlite
        insert = dialect.insert(RATE_COUNTS).values(scope=self._scope, key=key, window_index=window, count=1)
        counted = insert.on_conflict_do_update(
            index_elements=["scope", "key", "window_index"], set_={"count": RATE_COUNTS.c.count + 1}
        ).returning(RATE_COUNTS.c.count)
        with self._database.transaction("count a request for the rate limit") as connection:
            count = connection.execute(counted).scalar_one()
            with self._pruning:
                prune = window > self._pruned_window
                self._pruned_window = max(window, self._pruned_window)
            if prune:
                connection.execute(
                    delete(RATE_COUNTS).where(RATE_COUNTS.c.scope == self._scope, RATE_COUNTS.c.window_index < window)
                )
        return int(count) <= self.limit

    def retry_after_s(self, key: str) -> float:
        """Seconds to the end of the current window (when a refused key is let through again)."""
        if time.monotonic() < self._database_down_until:
            return self._in_process.retry_after_s(key)
        return max(0.0, (self._window() + 1) * self.window_s - self._clock())


def counts_in_database(settings: Settings) -> bool:
    """Whether `[store] rate_limits` puts the counts in the database (`auto`: when `[store] url` is not SQLite)."""
    choice = settings.store.rate_limits
    if choice == "auto":
        url = settings.store.url
        return url is not None and not url.startswith("sqlite")
    return choice == "database"


def rate_limiter(settings: Settings, database: Database | None, scope: str, limit: int, window_s: float) -> RateLimit:
    """The limiter of `scope` (a name that keeps its counts apart in the database), where `[store] rate_limits`
    says; in memory when there is no `database` to count in."""
    if database is not None and counts_in_database(settings):
        return DatabaseRateLimiter(database, scope, limit, window_s)
    return RateLimiter(limit, window_s)
