"""Widget keys: the public keys of the embeddable chat widget (`/widget.js`), apart from the secret API keys.

A widget key (`dsw_...`) sits in a company's web page for anyone to read, so it grants little: only the widget's
routes (`adapters.http.widget_routes`), only from the web origins it was created for, and only so many messages per
browser session and per UTC day. It is stored as it is (it is public; `deskbot keys list-widget` shows it again),
with a secret of its own that signs the key's browser sessions.

A browser session is minted by the server (`mint_session`): 16 random bytes and their HMAC-SHA256 under the key's
secret, `<random>.<signature>`. The widget keeps it in localStorage; `session_id` accepts only sessions this key
signed, so a browser cannot make up a session, nor name another one's (it would need its random part). Revoking a
key ends its sessions with it, and so does its expiry (`expires_in_days` at creation; a key without one lasts until
revoked): an expired key is refused like a revoked one.

`admit` counts one message of a session against both limits in one transaction on `widget_usage` (one row per key,
UTC day and bucket: the day's total, and each session's count that day), so every worker process of the server
shares the counts and a flood cannot slip between two processes. A message over either limit is not counted and
raises `WidgetLimitError`, whose `retry_after_s` is the time to the next UTC midnight, when both counts start again.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from sqlalchemy import Connection, Table, func, insert, update
from sqlalchemy import select as core_select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, UniqueConstraint, select

from adapters.http.api_keys import KEY_NAME
from bot.store.database import Database, StoreTable, aware
from knowledge.errors import DeskbotError

WIDGET_KEY_PREFIX = "dsw_"
DAY_BUCKET = "day"  # the `widget_usage` bucket of a key's whole day; a session's bucket is its random part
_ORIGIN_HOST = re.compile(r"[a-z0-9.-]+|\[[0-9a-f:.]+\]")


class WidgetKeyError(DeskbotError):
    """A widget key cannot be created or revoked as asked (bad name, origin or limit; duplicate or unknown name)."""


class WidgetLimitError(Exception):
    """A session or a key has sent all the messages it may send today."""

    def __init__(self, what: str, retry_after_s: int) -> None:
        super().__init__(what)
        self.retry_after_s = retry_after_s


class WidgetKey(StoreTable, table=True):
    __tablename__ = "widget_keys"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(index=True, unique=True, max_length=64)
    key: str = Field(index=True, unique=True, max_length=100)
    session_secret: str = Field(max_length=100)
    origins: str  # a JSON list of origins, e.g. ["https://help.example.com"]
    per_session: int
    per_day: int
    created_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    revoked_at: datetime | None = None
    expires_at: datetime | None = None


class WidgetUsage(StoreTable, table=True):
    __tablename__ = "widget_usage"
    __table_args__ = (UniqueConstraint("key_name", "day", "bucket", name="uq_widget_usage_bucket"),)

    id: int | None = Field(default=None, primary_key=True)
    key_name: str = Field(max_length=64)
    day: str = Field(max_length=10)  # the UTC day, YYYY-MM-DD
    bucket: str = Field(max_length=64)
    used: int


KEYS: Table = WidgetKey.__table__  # type: ignore[attr-defined]
USAGE: Table = WidgetUsage.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class WidgetKeyInfo:
    """A widget key as the routes and `deskbot keys list-widget` see it."""

    name: str
    key: str
    origins: tuple[str, ...]
    per_session: int
    per_day: int
    created_at: datetime
    revoked_at: datetime | None
    expires_at: datetime | None = None
    session_secret: str = ""

    @property
    def active(self) -> bool:
        return self.revoked_at is None and not self.expired()

    def expired(self, now: datetime | None = None) -> bool:
        return self.expires_at is not None and aware(self.expires_at) <= (now or datetime.now(UTC))

    def allows(self, origin: str | None) -> bool:
        return origin is not None and origin.lower() in self.origins


def normalized_origin(origin: str) -> str:
    """`origin` as browsers send it in the `Origin` header (`https://help.example.com[:port]`), lower case; a
    `WidgetKeyError` for anything else (a path, no scheme, another scheme)."""
    parts = urlsplit(origin.strip().lower())
    if parts.scheme not in {"http", "https"} or not parts.hostname or parts.path not in {"", "/"}:
        raise WidgetKeyError(f"an origin is a scheme and a host, like https://help.example.com, not {origin!r}")
    if parts.query or parts.fragment or parts.username or not _ORIGIN_HOST.fullmatch(parts.netloc.rsplit(":", 1)[0]):
        raise WidgetKeyError(f"an origin is a scheme and a host, like https://help.example.com, not {origin!r}")
    try:
        port = parts.port
    except ValueError as error:
        raise WidgetKeyError(f"the origin {origin!r} has a bad port") from error
    default = {"http": 80, "https": 443}[parts.scheme]
    host = parts.netloc.rsplit(":", 1)[0] if port is not None else parts.netloc
    return f"{parts.scheme}://{host}" + (f":{port}" if port not in (None, default) else "")


def seconds_to_midnight(now: datetime) -> int:
    tomorrow = (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return max(1, int((tomorrow - now).total_seconds()) + 1)


def _signature(secret: str, session: str) -> str:
    digest = hmac.new(secret.encode(), session.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:16]).decode().rstrip("=")


def _info(row: WidgetKey) -> WidgetKeyInfo:
    return WidgetKeyInfo(
        name=row.name,
        key=row.key,
        origins=tuple(json.loads(row.origins)),
        per_session=row.per_session,
        per_day=row.per_day,
        created_at=row.created_at,
        revoked_at=row.revoked_at,
        expires_at=row.expires_at,
        session_secret=row.session_secret,
    )


class WidgetKeys:
    def __init__(self, database: Database) -> None:
        self._database = database
        database.upgrade()

    def create(
        self,
        name: str,
        origins: list[str],
        per_session: int = 50,
        per_day: int = 1000,
        expires_in_days: int | None = None,
    ) -> str:
        """A new widget key for pages on `origins`, refused after `expires_in_days` (None: until revoked); the
        returned key goes in the page's `data-key`."""
        name = name.strip()
        if not KEY_NAME.fullmatch(name):
            raise WidgetKeyError(
                f"a widget key's name is 1-64 letters, digits, '.', '_' or '-' (starting with a letter or digit), "
                f"not {name!r}"
            )
        if not origins:
            raise WidgetKeyError("a widget key needs at least one --origin (the site that embeds the widget)")
        if per_session < 1 or per_day < 1:
            raise WidgetKeyError("--per-session and --per-day are at least 1")
        if expires_in_days is not None and not 1 <= expires_in_days <= 3650:
            raise WidgetKeyError("--expires-in-days is 1 to 3650 (or leave it out: the key lasts until revoked)")
        allowed = sorted({normalized_origin(origin) for origin in origins})
        key = WIDGET_KEY_PREFIX + secrets.token_urlsafe(24)
        row = WidgetKey(
            name=name,
            key=key,
            session_secret=secrets.token_urlsafe(32),
            origins=json.dumps(allowed),
            per_session=per_session,
            per_day=per_day,
            expires_at=None if expires_in_days is None else datetime.now(UTC) + timedelta(days=expires_in_days),
        )
        try:
            with self._database.session() as session:
                session.add(row)
                session.commit()
        except IntegrityError as error:
            raise WidgetKeyError(
                f"a widget key named '{name}' already exists (revoke it or pick another name)"
            ) from error
        return key

    def find(self, key: str) -> WidgetKeyInfo | None:
        """The active widget key `key`, or None (unknown, revoked or expired)."""
        if not key.startswith(WIDGET_KEY_PREFIX):
            return None
        with self._database.transaction("check a widget key", part="widget keys") as connection:
            row = connection.execute(core_select(KEYS).where(KEYS.c.key == key)).first()
        if row is None:
            return None
        info = _info(WidgetKey.model_validate(row._mapping))
        return info if info.active else None

    @staticmethod
    def mint_session(key: WidgetKeyInfo) -> str:
        session = secrets.token_urlsafe(16)
        return f"{session}.{_signature(key.session_secret, session)}"

    @staticmethod
    def session_id(key: WidgetKeyInfo, token: str) -> str | None:
        """The session of `token` when `key` signed it, else None."""
        session, _, signature = token.partition(".")
        if not session or not hmac.compare_digest(signature.encode(), _signature(key.session_secret, session).encode()):
            return None
        return session

    def admit(self, key: WidgetKeyInfo, session: str, now: datetime | None = None) -> None:
        """Count one message of `session`; `WidgetLimitError` (and nothing counted) when the session or the key
        has sent its share of today."""
        now = now or datetime.now(UTC)
        day = now.strftime("%Y-%m-%d")
        limits = ((DAY_BUCKET, key.per_day, "this site's chat"), (session, key.per_session, "this chat session"))
        with self._database.transaction("count a widget message", part="widget keys") as connection:
            for bucket, limit, who in limits:  # raising inside rolls back what was counted
                if not self._count(connection, key.name, day, bucket, limit):
                    raise WidgetLimitError(f"{who} has sent all {limit} messages of today", seconds_to_midnight(now))

    @staticmethod
    def _count(connection: Connection, name: str, day: str, bucket: str, limit: int) -> bool:
        where = (USAGE.c.key_name == name) & (USAGE.c.day == day) & (USAGE.c.bucket == bucket)
        counted = connection.execute(update(USAGE).where(where & (USAGE.c.used < limit)).values(used=USAGE.c.used + 1))
        if counted.rowcount:
            return True
        if connection.execute(core_select(func.count()).select_from(USAGE).where(where)).scalar_one():
            return False  # the row is there and full
        connection.execute(insert(USAGE).values(key_name=name, day=day, bucket=bucket, used=1))
        return True

    def list(self) -> list[WidgetKeyInfo]:
        with self._database.session() as session:
            return [_info(row) for row in session.exec(select(WidgetKey).order_by(WidgetKey.name))]

    def revoke(self, name: str) -> None:
        with self._database.session() as session:
            row = session.exec(select(WidgetKey).where(WidgetKey.name == name)).first()
            if row is None:
                raise WidgetKeyError(f"no widget key named '{name}' (see `deskbot keys list-widget`)")
            if row.revoked_at is None:
                row.revoked_at = datetime.now(UTC)
                session.add(row)
                session.commit()
