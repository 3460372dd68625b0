"""Console sessions: what an operator's login trades their key for, kept server-side in `operator_sessions`.

`POST /admin/login` checks the operator key and `open`s a session: 32 random bytes, given to the browser once as an
HttpOnly, SameSite=Strict cookie and stored only as their SHA-256 hash, with the operator's name and an expiry
(`SESSION_LIFETIME` after the login; the cookie's Max-Age says the same). `operator` finds the
session of a cookie, only while it has not expired and its operator's key is still active, so revoking a key logs
its operator out everywhere, in every worker process. `close` (logout) deletes it; expired rows are pruned at each
login.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta

from sqlalchemy import Table, delete, insert
from sqlalchemy import select as core_select
from sqlmodel import Field

from adapters.http.api_keys import hash_key
from adapters.http.operator_keys import OPERATOR_KEYS
from bot.store.database import Database, StoreTable, aware

SESSION_LIFETIME = timedelta(hours=12)


class OperatorSession(StoreTable, table=True):
    __tablename__ = "operator_sessions"

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(index=True, unique=True, max_length=64)
    operator: str = Field(max_length=64)
    created_at: datetime
    expires_at: datetime


SESSIONS: Table = OperatorSession.__table__  # type: ignore[attr-defined]


class OperatorSessions:
    def __init__(self, database: Database, lifetime: timedelta = SESSION_LIFETIME) -> None:
        self._database = database
        self.lifetime = lifetime
        database.upgrade()

    def open(self, operator: str, now: datetime | None = None) -> str:
        """A new session token for `operator` (whose key was just checked)."""
        now = now or datetime.now(UTC)
        token = secrets.token_urlsafe(32)
        row = {
            "token_hash": hash_key(token),
            "operator": operator,
            "created_at": now,
            "expires_at": now + self.lifetime,
        }
        with self._database.transaction("open a console session", part="console sessions") as connection:
            connection.execute(delete(SESSIONS).where(SESSIONS.c.expires_at < now))
            connection.execute(insert(SESSIONS), row)
        return token

    def operator(self, token: str, now: datetime | None = None) -> str | None:
        """The operator of the live session `token`, or None (unknown, expired, or its key revoked since)."""
        now = now or datetime.now(UTC)
        active_key = core_select(OPERATOR_KEYS.c.id).where(
            OPERATOR_KEYS.c.name == SESSIONS.c.operator, OPERATOR_KEYS.c.revoked_at.is_(None)
        )
        query = core_select(SESSIONS.c.operator, SESSIONS.c.expires_at).where(
            SESSIONS.c.token_hash == hash_key(token), active_key.exists()
        )
        with self._database.transaction("check a console session", part="console sessions") as connection:
            row = connection.execute(query).first()
        if row is None or aware(row.expires_at) <= now:
            return None
        return str(row.operator)

    def close(self, token: str) -> None:
        with self._database.transaction("end a console session", part="console sessions") as connection:
            connection.execute(delete(SESSIONS).where(SESSIONS.c.token_hash == hash_key(token)))
