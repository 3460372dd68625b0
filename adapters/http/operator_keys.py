"""Operator keys: who may use the operator console (`/admin`), apart from the API keys and the widget keys.

An operator key (`dso_...`, 32 random bytes) is shown once when created (`deskbot keys create-operator NAME`) and
stored only as its SHA-256 hash, by the same `HashedKeys` as an API key (`adapters.http.api_keys`). Its name is the
operator's name: it is recorded with every reply the operator writes and every answer they curate. With no active
operator key the console is closed: every `/admin` route answers 401 (`adapters.http.admin_auth`). Revoked keys stay
in the table (who had access, and until when); revoking one also ends its console sessions
(`adapters.http.admin_sessions`).
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Table
from sqlmodel import Field

from adapters.http.api_keys import HashedKeys
from bot.store.database import StoreTable
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


class OperatorKeys(HashedKeys):
    table = OPERATOR_KEYS
    prefix = OPERATOR_KEY_PREFIX
    noun = "operator key"
    list_command = "deskbot keys list-operator"
    error = OperatorKeyError
