"""API keys for the HTTP API: a key is shown once when created and stored only as its SHA-256 hash.

Keys are 32 random bytes, so a plain (fast) hash is enough: there is nothing to brute-force, and a lookup by hash
needs no per-key salt. Revoked keys stay in the table (who had access, and until when). A key's name is its
caller's namespace (`adapters.http.principals`: conversation `c-1` of key `ci` is stored as `api:ci:c-1`), so names
are short plain words. A database that does not answer while a key is checked is a `StoreError` (503 to the caller:
the key can be neither accepted nor refused).
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import ClassVar

from sqlalchemy import Table, insert, update
from sqlalchemy import select as core_select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field

from bot.store.database import Database, StoreTable
from knowledge.errors import DeskbotError

KEY_PREFIX = "dsk_"
KEY_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


class ApiKeyError(DeskbotError):
    """An API key cannot be created or revoked as asked (duplicate or unknown name)."""


class ApiKey(StoreTable, table=True):
    __tablename__ = "api_keys"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(index=True, unique=True)
    key_hash: str = Field(index=True, unique=True)
    hint: str
    created_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    revoked_at: datetime | None = None


KEYS: Table = ApiKey.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class KeyInfo:
    """A stored key as `deskbot keys list...` shows it: never the key itself, only its first characters."""

    name: str
    hint: str
    created_at: datetime
    revoked_at: datetime | None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


class HashedKeys:
    """Secret keys of one kind (`prefix` + 32 random bytes) in `table`, stored only as their hash: created, verified,
    listed and revoked. API keys are one kind; operator keys (`adapters.http.operator_keys`) another, in a table of
    their own, so a key of one kind is never taken for the other."""

    table: ClassVar[Table]
    prefix: ClassVar[str]
    noun: ClassVar[str]  # "API key": in the messages
    list_command: ClassVar[str]  # where a user sees the names, for the "no key named" message
    error: ClassVar[type[DeskbotError]]

    def __init__(self, database: Database) -> None:
        self._database = database
        database.upgrade()

    def create(self, name: str) -> str:
        """A new key named `name`; the returned plain key is not stored anywhere."""
        name = name.strip()
        if not KEY_NAME.fullmatch(name):
            raise self.error(
                f"an {self.noun}'s name is 1-64 letters, digits, '.', '_' or '-' (starting with a letter or digit), "
                f"not {name!r}"
            )
        key = self.prefix + secrets.token_urlsafe(32)
        row = {
            "name": name,
            "key_hash": hash_key(key),
            "hint": key[: len(self.prefix) + 4] + "...",
            "created_at": datetime.now(UTC),
        }
        try:
            with self._database.engine.begin() as connection:
                connection.execute(insert(self.table).values(row))
        except IntegrityError as error:
            raise self.error(
                f"an {self.noun} named '{name}' already exists (revoke it or pick another name)"
            ) from error
        return key

    def verify(self, key: str) -> str | None:
        """The name of the active key `key`, or None (a key of another kind is never one)."""
        if not key.startswith(self.prefix):
            return None
        keys = self.table.c
        query = core_select(keys.name).where(keys.key_hash == hash_key(key), keys.revoked_at.is_(None))
        with self._database.transaction(f"check an {self.noun}", part=f"{self.noun}s") as connection:
            name = connection.execute(query).scalar()
        return None if name is None else str(name)

    def list(self) -> list[KeyInfo]:
        keys = self.table.c
        query = core_select(keys.name, keys.hint, keys.created_at, keys.revoked_at).order_by(keys.name)
        with self._database.engine.connect() as connection:
            return [KeyInfo(*row) for row in connection.execute(query)]

    def revoke(self, name: str) -> None:
        keys = self.table.c
        with self._database.engine.begin() as connection:
            if connection.execute(core_select(keys.id).where(keys.name == name)).first() is None:
                raise self.error(f"no {self.noun} named '{name}' (see `{self.list_command}`)")
            connection.execute(
                update(self.table)
                .where(keys.name == name, keys.revoked_at.is_(None))
                .values(revoked_at=datetime.now(UTC))
            )


class ApiKeys(HashedKeys):
    table = KEYS
    prefix = KEY_PREFIX
    noun = "API key"
    list_command = "deskbot keys list"
    error = ApiKeyError
