"""Operator keys: who may use the operator console (`/admin`), apart from the API keys and the widget keys.

An operator key (`dso_...`, 32 random bytes) is shown once when created (`deskbot keys create-operator NAME`) and
stored only as its SHA-256 hash, like an API key (`adapters.http.api_keys`). Its name is the operator's name: it is
recorded with every reply the operator writes and every answer they curate. With no active operator key the console
is closed: every `/admin` route answers 401 (`adapters.http.admin_auth`). Revoked keys stay in the table (who had
access, and until when); revoking one also ends its console sessions (`adapters.http.admin_sessions`).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Table
from sqlalchemy import select as core_select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, select

from adapters.http.api_keys import KEY_NAME, hash_key
from bot.store.database import Database, StoreTable
from knowledge.errors import DeskbotError

OPERATOR_KEY_PREFIX = "dso_"


class OperatorKeyError(DeskbotError):
    """An operator key cannot be created or revoked as asked (bad, duplicate or unknown name)."""


class OperatorKey(StoreTable, table=True):
    __tablename__ = "operator_keys"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(index=True, unique=True, max_length=64)
    key_hash: str = Field(index=True, unique=True, max_length=64)
    hint: str = Field(max_length=20)
    created_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    revoked_at: datetime | None = None


OPERATOR_KEYS: Table = OperatorKey.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class OperatorKeyInfo:
    name: str
    hint: str
    created_at: datetime
    revoked_at: datetime | None


class OperatorKeys:
    def __init__(self, database: Database) -> None:
        self._database = database
        database.upgrade()

    def create(self, name: str) -> str:
        """A new key for the operator `name`; the returned plain key is not stored anywhere."""
        name = name.strip()
        if not KEY_NAME.fullmatch(name):
            raise OperatorKeyError(
                "an operator key's name is 1-64 letters, digits, '.', '_' or '-' (starting with a letter or digit), "
                f"not {name!r}"
            )
        key = OPERATOR_KEY_PREFIX + secrets.token_urlsafe(32)
        row = OperatorKey(name=name, key_hash=hash_key(key), hint=key[: len(OPERATOR_KEY_PREFIX) + 4] + "...")
        try:
            with self._database.session() as session:
                session.add(row)
                session.commit()
        except IntegrityError as error:
            raise OperatorKeyError(
                f"an operator key named '{name}' already exists (revoke it or pick another name)"
            ) from error
        return key

    def verify(self, key: str) -> str | None:
        """The operator name of the active key `key`, or None (an API or widget key is never one)."""
        if not key.startswith(OPERATOR_KEY_PREFIX):
            return None
        query = core_select(OPERATOR_KEYS.c.name).where(
            OPERATOR_KEYS.c.key_hash == hash_key(key), OPERATOR_KEYS.c.revoked_at.is_(None)
        )
        with self._database.transaction("check an operator key", part="operator keys") as connection:
            name = connection.execute(query).scalar()
        return None if name is None else str(name)

    def list(self) -> list[OperatorKeyInfo]:
        with self._database.session() as session:
            rows = session.exec(select(OperatorKey).order_by(OperatorKey.name)).all()
            return [OperatorKeyInfo(row.name, row.hint, row.created_at, row.revoked_at) for row in rows]

    def revoke(self, name: str) -> None:
        with self._database.session() as session:
            row = session.exec(select(OperatorKey).where(OperatorKey.name == name)).first()
            if row is None:
                raise OperatorKeyError(f"no operator key named '{name}' (see `deskbot keys list-operator`)")
            if row.revoked_at is None:
                row.revoked_at = datetime.now(UTC)
                session.add(row)
                session.commit()
