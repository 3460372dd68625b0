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

from sqlalchemy import Table
from sqlalchemy import select as core_select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, select

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
class ApiKeyInfo:
    name: str
    hint: str
    created_at: datetime
    revoked_at: datetime | None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def _info(row: ApiKey) -> ApiKeyInfo:
    return ApiKeyInfo(name=row.name, hint=row.hint, created_at=row.created_at, revoked_at=row.revoked_at)


class ApiKeys:
    def __init__(self, database: Database) -> None:
        self._database = database
        database.upgrade()

    def create(self, name: str) -> str:
        """A new key named `name`; the returned plain key is not stored anywhere."""
        name = name.strip()
        if not KEY_NAME.fullmatch(name):
            raise ApiKeyError(
                f"an API key's name is 1-64 letters, digits, '.', '_' or '-' (starting with a letter or digit), "
                f"not {name!r}"
            )
        key = KEY_PREFIX + secrets.token_urlsafe(32)
        row = ApiKey(name=name, key_hash=hash_key(key), hint=key[: len(KEY_PREFIX) + 4] + "...")
        try:
            with self._database.session() as session:
                session.add(row)
                session.commit()
        except IntegrityError as error:
            raise ApiKeyError(f"an API key named '{name}' already exists (revoke it or pick another name)") from error
        return key

    def verify(self, key: str) -> str | None:
        """The name of the active key `key`, or None."""
        if not key.startswith(KEY_PREFIX):
            return None
        query = core_select(KEYS.c.name, KEYS.c.revoked_at).where(KEYS.c.key_hash == hash_key(key))
        with self._database.transaction("check an API key", part="API keys") as connection:
            row = connection.execute(query).first()
        if row is None or row.revoked_at is not None:
            return None
        return str(row.name)

    def list(self) -> list[ApiKeyInfo]:
        with self._database.session() as session:
            return [_info(row) for row in session.exec(select(ApiKey).order_by(ApiKey.name))]

    def revoke(self, name: str) -> None:
        with self._database.session() as session:
            row = session.exec(select(ApiKey).where(ApiKey.name == name)).first()
            if row is None:
                raise ApiKeyError(f"no API key named '{name}' (see `deskbot keys list`)")
            if row.revoked_at is None:
                row.revoked_at = datetime.now(UTC)
                session.add(row)
                session.commit()
