"""`Database`: one SQLAlchemy engine for every store table, from `[store] url` (SQLite by default, Postgres by URL).

Store tables subclass `StoreTable`, which has its own metadata. The tables are made and changed by the schema
migrations only (`bot.store.schema`, Alembic): every store calls `Database.upgrade` before its first statement, which
brings the database to the newest revision once per `Database` (a no-op when it is there already).

SQLite has one writer at a time. A connection that finds the write lock taken waits in SQLite's busy handler, which
sleeps ever longer between tries (up to 100 ms), so behind writers that keep taking the lock a waiter can miss it
for seconds. `write_first_in_line` is for the writes a caller is waiting on (the acknowledgement of a webhook): it
asks for the lock again every few milliseconds (`LOCK_POLL_S`) and so takes it soon after it is free, ahead of the
writers left to the busy handler (the answer processes taking jobs).

A database server that goes away and comes back needs no restart: pooled connections are pinged before use
(`pool_pre_ping`), so the first request after an outage gets a fresh connection instead of a dead one, and a
connection attempt gives up after `CONNECT_TIMEOUT_S`, so a server that does not answer fails a request quickly
instead of holding it. `check` is the cheap `SELECT 1` of a readiness probe.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import Connection, Engine, event
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from sqlalchemy.orm import registry
from sqlmodel import Session, SQLModel, create_engine

from bot.config import Settings
from bot.errors import DeskbotError

CONNECT_TIMEOUT_S = 5
BUSY_TIMEOUT_MS = 30_000
LOCK_POLL_S = (0.0005, 0.001, 0.002, 0.005)  # the waits between tries for the write lock; then the last, repeated

T = TypeVar("T")

if TYPE_CHECKING:
    from bot.store.schema import Upgrade


class StoreError(DeskbotError):
    """The conversation database cannot be reached or written."""


class StoreTable(SQLModel, registry=registry()):
    """Base class of every table in Deskbot's database."""


def aware(moment: datetime) -> datetime:
    """A datetime read from the store, in UTC: SQLite returns naive datetimes, and everything stored is UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def database_url(settings: Settings) -> str:
    if settings.store.url:
        return settings.store.url
    return sqlite_in_data_dir(settings, "deskbot.sqlite")


def sqlite_in_data_dir(settings: Settings, name: str) -> str:
    """A SQLite file `name` in the data folder, as a URL (made when missing)."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{settings.data_dir / name}"


class Database:
    def __init__(self, url: str) -> None:
        self.url = url
        self._upgrading = threading.Lock()
        self._upgraded: Upgrade | None = None
        is_sqlite = url.startswith("sqlite")
        # A server connection may have been dropped while pooled, so it is pinged first; a SQLite file cannot be.
        options: dict[str, Any] = {"pool_pre_ping": not is_sqlite}
        if is_sqlite:
            options["connect_args"] = {"check_same_thread": False, "timeout": 30}
        elif url.startswith("postgresql"):
            options["connect_args"] = {"connect_timeout": CONNECT_TIMEOUT_S}
        self._options = options
        self.engine: Engine = create_engine(url, **options)
        if is_sqlite:
            _set_sqlite_pragmas(self.engine, BUSY_TIMEOUT_MS)

    @cached_property
    def _engine_that_never_waits(self) -> Engine:
        """A second pool on the same SQLite file whose connections return at once when the write lock is taken
        (`busy_timeout` 0), for `write_first_in_line`."""
        engine = create_engine(self.url, **self._options)
        _set_sqlite_pragmas(engine, 0)
        return engine

    @classmethod
    def from_settings(cls, settings: Settings) -> Database:
        """The configured database (`[store] url`). It is not connected to yet: each store upgrades its schema
        (`upgrade`) when it opens, so a process builds one `Database` per URL and gives it to all its stores."""
        return cls(database_url(settings))

    def upgrade(self) -> Upgrade:
        """Bring the database to the newest schema revision, once per `Database` (threads wait for the first;
        processes for each other, `bot.store.schema`); what was done. A database that cannot be reached is a
        `StoreError`, one at an unknown revision a `SchemaError`."""
        from bot.store import schema

        with self._upgrading:
            if self._upgraded is None:
                try:
                    self._upgraded = schema.upgrade(self.engine)
                except SQLAlchemyError as error:
                    url = self.engine.url.render_as_string(hide_password=True)
                    raise StoreError(f"cannot open the database at {url}: {error.__class__.__name__}") from error
            return self._upgraded

    @contextmanager
    def transaction(self, what: str, part: str = "") -> Iterator[Connection]:
        """One transaction on a plain connection (no ORM); a database failure becomes a `StoreError` that says what
        could not be done: "[<part>: ]cannot <what> (<error class>)"."""
        try:
            with self.engine.begin() as connection:
                yield connection
        except SQLAlchemyError as error:
            prefix = f"{part}: " if part else ""
            raise StoreError(f"{prefix}cannot {what} ({error.__class__.__name__})") from error

    def write_first_in_line(self, what: str, work: Callable[[Connection], T]) -> T:
        """`work(connection)` in one transaction, as `transaction(what)`; on SQLite, while another connection holds
        the write lock the whole transaction is tried again every `LOCK_POLL_S` (for up to the busy timeout)
        instead of waiting in SQLite's busy handler (on connections of their own, whose busy timeout is 0). `work`
        must write first (a read before the first write could see a snapshot that another writer changes) and may
        run more than once."""
        if not self.url.startswith("sqlite"):
            with self.transaction(what) as connection:
                return work(connection)
        deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
        for attempt in itertools.count():
            try:
                with self._engine_that_never_waits.begin() as connection:
                    return work(connection)
            except OperationalError as error:
                if "database is locked" not in str(error.orig) or time.monotonic() > deadline:
                    raise StoreError(f"cannot {what} ({error.__class__.__name__})") from error
            except SQLAlchemyError as error:
                raise StoreError(f"cannot {what} ({error.__class__.__name__})") from error
            time.sleep(LOCK_POLL_S[min(attempt, len(LOCK_POLL_S) - 1)])
        raise AssertionError("unreachable")

    def check(self) -> None:
        """Raise `StoreError` unless the database answers a `SELECT 1`."""
        with self.transaction("reach the database") as connection:
            connection.exec_driver_sql("SELECT 1")

    @contextmanager
    def session(self) -> Iterator[Session]:
        with Session(self.engine, expire_on_commit=False) as session:
            yield session

    def dispose(self) -> None:
        self.engine.dispose()
        if "_engine_that_never_waits" in self.__dict__:
            self._engine_that_never_waits.dispose()


def _set_sqlite_pragmas(engine: Engine, busy_timeout_ms: int) -> None:
    @event.listens_for(engine, "connect")
    def _sqlite_pragmas(connection: Any, _record: Any) -> None:
        cursor = connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        # WAL + NORMAL: no fsync per commit (4 ms -> 0.6 ms per write here); an application crash loses
        # nothing, a power cut may lose the last commits but never corrupts the file.
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={busy_timeout_ms}")
        cursor.close()
