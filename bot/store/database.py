"""`Database`: one SQLAlchemy engine for every store table, from `[store] url` (SQLite by default, Postgres by URL).

Store tables subclass `StoreTable`, which has its own metadata, so `create_all` makes exactly the store's tables. It
also upgrades a database made by an earlier version: a column added to a store table since is added to the database's
table (`ALTER TABLE ... ADD COLUMN`), so such a column must be nullable (rows already there get NULL).

A database server that goes away and comes back needs no restart: pooled connections are pinged before use
(`pool_pre_ping`), so the first request after an outage gets a fresh connection instead of a dead one, and a
connection attempt gives up after `CONNECT_TIMEOUT_S`, so a server that does not answer fails a request quickly
instead of holding it. `check` is the cheap `SELECT 1` of a readiness probe.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Engine, Table, event, inspect
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import registry
from sqlmodel import Session, SQLModel, create_engine

from bot.config import Settings
from bot.errors import DeskbotError

# Each lost race means another process created at least one table or index: a few looks suffice.
CREATE_ATTEMPTS = 10
CONNECT_TIMEOUT_S = 5


class StoreError(DeskbotError):
    """The conversation database cannot be reached or written."""


class StoreTable(SQLModel, registry=registry()):
    """Base class of every table in Deskbot's database."""


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
        self._creating = threading.Lock()
        is_sqlite = url.startswith("sqlite")
        # A server connection may have been dropped while pooled, so it is pinged first; a SQLite file cannot be.
        options: dict[str, Any] = {"pool_pre_ping": not is_sqlite}
        if is_sqlite:
            options["connect_args"] = {"check_same_thread": False, "timeout": 30}
        elif url.startswith("postgresql"):
            options["connect_args"] = {"connect_timeout": CONNECT_TIMEOUT_S}
        self.engine: Engine = create_engine(url, **options)
        if is_sqlite:

            @event.listens_for(self.engine, "connect")
            def _sqlite_pragmas(connection: Any, _record: Any) -> None:
                cursor = connection.cursor()
                cursor.execute("PRAGMA journal_mode=WAL")
                # WAL + NORMAL: no fsync per commit (4 ms -> 0.6 ms per write here); an application crash loses
                # nothing, a power cut may lose the last commits but never corrupts the file.
                cursor.execute("PRAGMA synchronous=NORMAL")
                cursor.execute("PRAGMA busy_timeout=30000")
                cursor.close()

    @classmethod
    def from_settings(cls, settings: Settings) -> Database:
        """The configured database (`[store] url`). It is not connected to yet: each store creates the tables it uses
        (`create_all`) when it opens, so a process builds one `Database` per URL and gives it to all its stores."""
        return cls(database_url(settings))

    def create_all(self, tables: Sequence[Table] | None = None) -> None:
        """Create the store's missing tables and columns (of `tables` only, when given). Safe when threads or worker
        processes do it at the same time: the loser of a race ("table already exists", "duplicate column") looks
        again, and each look finds more of them."""
        with self._creating:
            for attempt in range(1, CREATE_ATTEMPTS + 1):
                try:
                    StoreTable.metadata.create_all(self.engine, tables=tables)
                    self._add_missing_columns(tables or StoreTable.metadata.sorted_tables)
                    return
                except SQLAlchemyError as error:
                    if attempt == CREATE_ATTEMPTS:
                        url = self.engine.url.render_as_string(hide_password=True)
                        raise StoreError(f"cannot open the database at {url}: {error.__class__.__name__}") from error

    def _add_missing_columns(self, tables: Sequence[Table]) -> None:
        """Add the columns a table made by an earlier version lacks (each new column is nullable)."""
        inspector = inspect(self.engine)
        quote = self.engine.dialect.identifier_preparer.quote
        for table in tables:
            present = {column["name"] for column in inspector.get_columns(table.name)}
            for column in table.columns:
                if column.name in present:
                    continue
                assert column.nullable, f"{table.name}.{column.name}: a column added later must be nullable"
                kind = column.type.compile(dialect=self.engine.dialect)
                with self.engine.begin() as connection:
                    connection.exec_driver_sql(
                        f"ALTER TABLE {quote(table.name)} ADD COLUMN {quote(column.name)} {kind}"
                    )

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
