"""`Database`: one SQLAlchemy engine for every store table, from `[store] url` (SQLite by default, Postgres by URL).

Store tables subclass `StoreTable`, which has its own metadata. The tables are made and changed by the schema
migrations only (`bot.store.schema`, Alembic): every store calls `Database.upgrade` before its first statement, which
brings the database to the newest revision once per `Database` (a no-op when it is there already).

SQLite has one writer at a time. A connection that finds the write lock taken waits in SQLite's busy handler, which
sleeps ever longer between tries (up to 100 ms), so behind writers that keep taking the lock a waiter can miss it
for seconds. `write_first_in_line` is for the writes a caller is waiting on (the acknowledgement of a webhook): it
asks for the lock again every few milliseconds (`LOCK_POLL_S`) and so takes it soon after it is free, ahead of the
writers left to the busy handler (the answer processes taking jobs).

A database server that goes away and comes back needs no restart: pooled connections are pinged when they are
checked out, so the first request after an outage gets a fresh connection instead of a dead one. A server that does
not answer fails a request within bounds (`StoreTimeouts`, from `[store]`): a connection attempt (or a wait for a
pooled connection) gives up after `connect_s`; on PostgreSQL every session gets `statement_timeout` and
`lock_timeout` (a table lock held by another session, a runaway query), and a connection whose server does not
answer at all (a stopped process) is cut a second after `statement_timeout` (`bot.store.server_deadlines`). On SQLite
a writer waits for the write lock up to `BUSY_TIMEOUT_MS`. `check` is the cheap `SELECT 1` of a readiness probe.
"""

from __future__ import annotations

import itertools
import math
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import Connection, Engine, event, make_url
from sqlalchemy.exc import DisconnectionError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import registry
from sqlmodel import Session, SQLModel, create_engine

from bot.config import Settings, StoreSettings
from bot.errors import DeskbotError
from bot.store.server_deadlines import SERVER_WAIT_OPTION, ServerDeadlines

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


@dataclass(frozen=True)
class StoreTimeouts:
    """How long a database server may keep a request waiting (`[store]`); the PostgreSQL ones do not apply to
    SQLite, whose writers wait for the write lock up to `BUSY_TIMEOUT_MS`."""

    connect_s: float = 5.0
    statement_s: float = 10.0
    lock_s: float = 5.0

    @classmethod
    def of(cls, store: StoreSettings) -> StoreTimeouts:
        return cls(store.connect_timeout_s, store.statement_timeout_s, store.lock_timeout_s)

    @property
    def server_wait_s(self) -> float:
        """How long a connection may wait on a server that does not answer at all: the server's own
        `statement_timeout` comes first while it runs."""
        return self.statement_s + 1.0


def _postgres_connect_args(url: str, timeouts: StoreTimeouts) -> dict[str, Any]:
    """The libpq options that bound every session; what the URL sets itself is kept."""
    query = make_url(url).query
    session_options = f"-c statement_timeout={round(timeouts.statement_s * 1000)} "
    session_options += f"-c lock_timeout={round(timeouts.lock_s * 1000)}"
    if query.get("options"):
        session_options += f" {query['options']}"
    arguments: dict[str, Any] = {"options": session_options}
    if "connect_timeout" not in query:
        arguments["connect_timeout"] = max(2, math.ceil(timeouts.connect_s))  # libpq: whole seconds, at least 2
    return arguments


class Database:
    def __init__(self, url: str, timeouts: StoreTimeouts = StoreTimeouts()) -> None:
        self.url = url
        self.timeouts = timeouts
        self._upgrading = threading.Lock()
        self._upgraded: Upgrade | None = None
        is_sqlite = url.startswith("sqlite")
        options: dict[str, Any] = {}
        if is_sqlite:
            options["connect_args"] = {"check_same_thread": False, "timeout": 30}
        else:
            options["pool_timeout"] = timeouts.connect_s
            if url.startswith("postgresql"):
                options["connect_args"] = _postgres_connect_args(url, timeouts)
        self._options = options
        self.engine: Engine = create_engine(url, **options)
        self._server_deadlines: ServerDeadlines | None = None
        if is_sqlite:
            _set_sqlite_pragmas(self.engine, BUSY_TIMEOUT_MS)
        else:
            self._server_deadlines = ServerDeadlines(timeouts.server_wait_s)
            _bound_server_waits(self.engine, self._server_deadlines)

    @cached_property
    def _engine_that_never_waits(self) -> Engine:
        """A second pool on the same SQLite file whose connections return at once when the write lock is taken
        (`busy_timeout` 0), for `write_first_in_line`."""
        engine = create_engine(self.url, **self._options)
        _set_sqlite_pragmas(engine, 0)
        return engine

    @classmethod
    def from_settings(cls, settings: Settings, url: str | None = None) -> Database:
        """The configured database (`url`, default `[store] url`), with `[store]`'s timeouts. It is not connected to
        yet: each store upgrades its schema (`upgrade`) when it opens, so a process builds one `Database` per URL and
        gives it to all its stores."""
        return cls(url or database_url(settings), StoreTimeouts.of(settings.store))

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
        if self._server_deadlines is not None:
            self._server_deadlines.stop()


def _bound_server_waits(engine: Engine, deadlines: ServerDeadlines) -> None:
    """Every wait of a checked-out connection on the server renews its deadline (`bot.store.server_deadlines`);
    a connection is pinged when it is checked out, under its deadline (a dead one is replaced by a new one)."""

    @event.listens_for(engine, "before_cursor_execute")
    def _statement(connection: Connection, cursor: Any, *_statement: Any) -> None:
        deadlines.renew(cursor.connection, connection.get_execution_options().get(SERVER_WAIT_OPTION))

    @event.listens_for(engine, "after_cursor_execute")
    def _statement_done(_connection: Connection, cursor: Any, *_statement: Any) -> None:
        deadlines.renew(cursor.connection)

    @event.listens_for(engine, "commit")
    @event.listens_for(engine, "rollback")
    def _ending_transaction(connection: Connection) -> None:
        deadlines.renew(connection.connection.dbapi_connection)

    @event.listens_for(engine, "checkout")
    def _ping(driver_connection: Any, _record: Any, _proxy: Any) -> None:
        deadlines.renew(driver_connection)
        try:
            engine.dialect.do_ping(driver_connection)
        except Exception as error:  # dead or cut: the pool connects anew (bounded by connect_timeout)
            raise DisconnectionError(f"the pooled connection is dead ({error.__class__.__name__})") from error

    @event.listens_for(engine, "reset")
    def _resetting(driver_connection: Any, *_state: Any) -> None:
        deadlines.renew(driver_connection)

    @event.listens_for(engine, "checkin")
    @event.listens_for(engine, "close")
    def _returned(driver_connection: Any, *_record: Any) -> None:
        if driver_connection is not None:
            deadlines.forget(driver_connection)


def _set_sqlite_pragmas(engine: Engine, busy_timeout_ms: int) -> None:
    @event.listens_for(engine, "connect")
    def _sqlite_pragmas(connection: Any, _record: Any) -> None:
        cursor = connection.cursor()
        _switch_to_wal(cursor)
        # WAL + NORMAL: no fsync per commit (4 ms -> 0.6 ms per write here); an application crash loses
        # nothing, a power cut may lose the last commits but never corrupts the file.
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={busy_timeout_ms}")
        cursor.close()


def _switch_to_wal(cursor: Any) -> None:
    """`PRAGMA journal_mode=WAL`, tried again while the file is locked, for up to the busy timeout. Switching a file
    that is not in WAL mode yet (a new one) takes its exclusive lock without SQLite's busy handler, so when several
    connections open a new file at once (an HTTP worker and its answer processes) all but one may be told "database
    is locked" at once, whatever the busy timeout."""
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    for attempt in itertools.count():
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as error:
            if "database is locked" not in str(error) or time.monotonic() > deadline:
                raise
        time.sleep(LOCK_POLL_S[min(attempt, len(LOCK_POLL_S) - 1)])
