"""`Database`: one SQLAlchemy engine for every store table, from `[store] url` (SQLite by default, Postgres by URL).

Store tables subclass `StoreTable`, which has its own metadata, so `create_all` makes exactly the store's tables.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import registry
from sqlmodel import Session, SQLModel, create_engine

from bot.config import Settings
from bot.errors import DeskbotError


class StoreError(DeskbotError):
    """The conversation database cannot be reached or written."""


class StoreTable(SQLModel, registry=registry()):
    """Base class of every table in Deskbot's database."""


def database_url(settings: Settings) -> str:
    if settings.store.url:
        return settings.store.url
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{settings.data_dir / 'deskbot.sqlite'}"


class Database:
    def __init__(self, url: str) -> None:
        self.url = url
        options: dict[str, Any] = {"pool_pre_ping": True}
        if url.startswith("sqlite"):
            options["connect_args"] = {"check_same_thread": False, "timeout": 30}
        self.engine: Engine = create_engine(url, **options)
        if url.startswith("sqlite"):

            @event.listens_for(self.engine, "connect")
            def _sqlite_pragmas(connection: Any, _record: Any) -> None:
                cursor = connection.cursor()
                cursor.execute("PRAGMA journal_mode=WAL")
                # WAL + NORMAL: no fsync per commit (about 10x faster writes); a crash may lose the last commits,
                # never corrupts the file. Postgres is the store for production durability.
                cursor.execute("PRAGMA synchronous=NORMAL")
                cursor.execute("PRAGMA busy_timeout=30000")
                # With WAL, NORMAL survives application crashes and skips an fsync per commit (4 ms -> 0.6 ms here).
                cursor.execute("PRAGMA synchronous=NORMAL")
                cursor.close()

    @classmethod
    def from_settings(cls, settings: Settings) -> Database:
        database = cls(database_url(settings))
        database.create_all()
        return database

    def create_all(self) -> None:
        try:
            StoreTable.metadata.create_all(self.engine)
        except SQLAlchemyError as error:
            raise StoreError(f"cannot open the database at {self.engine.url!r}: {error.__class__.__name__}") from error

    @contextmanager
    def session(self) -> Iterator[Session]:
        with Session(self.engine, expire_on_commit=False) as session:
            yield session

    def dispose(self) -> None:
        self.engine.dispose()
