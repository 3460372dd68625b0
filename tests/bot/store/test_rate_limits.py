"""`DatabaseRateLimiter`: one count per key and window in the database, shared by every limiter on it."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.store.database import Database
from bot.store.rate_limits import RATE_COUNTS, DatabaseRateLimiter


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.integration)])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'limits.sqlite'}"
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
def databases(url: str) -> Iterator[tuple[Database, Database]]:
    """Two engines on one database, as two processes would have."""
    made = Database(url), Database(url)
    yield made
    for database in made:
        database.dispose()


def key() -> str:
    return f"user-{uuid.uuid4().hex}"


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_two_limiters_on_one_database_share_one_count(databases):
    clock = Clock(1_000_000.0)
    first, second = (DatabaseRateLimiter(database, "guard", 3, 60.0, clock) for database in databases)
    customer = key()
    assert [first.allow(customer), second.allow(customer), first.allow(customer)] == [True, True, True]
    assert not second.allow(customer) and not first.allow(customer)
    assert first.allow(key()), "another key counts on its own"


def test_a_refused_key_waits_for_the_end_of_its_window(databases):
    clock = Clock(1_000_010.0)  # 10 s into a window of 60 (1_000_000 / 60 is not whole: 1_000_020 is a window start)
    limiter = DatabaseRateLimiter(databases[0], "api", 1, 60.0, clock)
    customer = key()
    assert limiter.allow(customer) and not limiter.allow(customer)
    assert limiter.retry_after_s(customer) == pytest.approx(10.0)
    clock.now += 10.0
    assert limiter.allow(customer)


def test_scopes_count_apart(databases):
    clock = Clock(2_000_000.0)
    guard = DatabaseRateLimiter(databases[0], "guard", 1, 60.0, clock)
    api = DatabaseRateLimiter(databases[1], "api", 1, 60.0, clock)
    customer = key()
    assert guard.allow(customer) and api.allow(customer)
    assert not guard.allow(customer) and not api.allow(customer)


def test_past_windows_are_deleted(databases):
    clock = Clock(3_000_000.0)
    limiter = DatabaseRateLimiter(databases[0], "prune-test", 5, 1.0, clock)
    for _ in range(3):
        limiter.allow(key())
        clock.now += 1.0
    limiter.allow(key())
    with databases[0].transaction("count") as connection:
        scope = RATE_COUNTS.c.scope == "prune-test"
        windows = connection.execute(select(func.count(func.distinct(RATE_COUNTS.c.window_index))).where(scope))
        assert windows.scalar_one() == 1


@pytest.mark.integration
def test_concurrent_requests_on_postgres_admit_exactly_the_limit(postgres_url):
    databases = [Database(postgres_url) for _ in range(4)]
    limiters = [DatabaseRateLimiter(database, "guard", 10, 3600.0) for database in databases]
    customer = key()
    with ThreadPoolExecutor(8) as pool:
        admitted = list(pool.map(lambda index: limiters[index % 4].allow(customer), range(40)))
    assert sum(admitted) == 10
    for database in databases:
        database.dispose()


def test_a_database_that_does_not_answer_counts_in_this_process(caplog):
    down = Database("postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=2")  # nothing listens on port 1
    limiter = DatabaseRateLimiter(down, "guard", 2, 60.0)
    customer = key()
    with caplog.at_level("WARNING"):
        assert [limiter.allow(customer) for _ in range(3)] == [True, True, False]
    assert len([r for r in caplog.records if "count in this process" in r.getMessage()]) == 1, "tried once per pause"
    assert 0 < limiter.retry_after_s(customer) <= 60.0
