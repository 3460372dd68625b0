"""`bot.rate_limits`: where a limit counts (`[store] rate_limits`), and the in-process sliding window."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import Settings, load_settings
from bot.errors import ConfigError
from bot.rate_limits import RateLimiter, allow
from bot.store.database import Database
from bot.store.rate_limits import DatabaseRateLimiter, rate_limiter


def settings(**store: str) -> Settings:
    return Settings.model_validate({"store": store})


@pytest.mark.parametrize(
    ("store", "in_database"),
    [
        ({}, False),  # the default SQLite file: one machine
        ({"url": "sqlite:///deskbot.sqlite"}, False),
        ({"url": "postgresql+psycopg://deskbot@db/deskbot"}, True),
        ({"url": "postgresql+psycopg://deskbot@db/deskbot", "rate_limits": "process"}, False),
        ({"url": "sqlite:///deskbot.sqlite", "rate_limits": "database"}, True),
    ],
)
def test_where_a_limit_counts(tmp_path: Path, store, in_database):
    database = Database(f"sqlite:///{tmp_path / 'db.sqlite'}")
    limiter = rate_limiter(settings(**store), database, "guard", 5, 60.0)
    assert isinstance(limiter, DatabaseRateLimiter) is in_database
    assert isinstance(limiter, RateLimiter) is not in_database
    assert (limiter.limit, limiter.window_s) == (5, 60.0)


def test_without_a_database_it_counts_in_memory():
    assert isinstance(rate_limiter(settings(rate_limits="database"), None, "guard", 5, 60.0), RateLimiter)


def test_an_unknown_choice_is_refused_naming_the_key(tmp_path: Path):
    config = tmp_path / "deskbot.toml"
    config.write_text('[store]\nrate_limits = "redis"\n')
    with pytest.raises(ConfigError, match="rate_limits"):
        load_settings(config)


async def test_allow_counts_through_a_database_limiter_off_the_event_loop(tmp_path: Path):
    limiter = DatabaseRateLimiter(Database(f"sqlite:///{tmp_path / 'db.sqlite'}"), "guard", 1, 60.0)
    assert await allow(limiter, "u1") and not await allow(limiter, "u1")
