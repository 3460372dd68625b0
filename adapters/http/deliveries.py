"""Webhook deliveries: de-duplicated, queued in the database, and answered once.

A route acknowledges a delivery as soon as `Deliveries.submit` has stored it; an answer worker (`take`, `finish`) sends
the reply later, in this process or another (`adapters.http.answer_worker`). Recording the delivery id under a unique
key and queueing its job happen in one transaction, so a retried or repeated delivery (a Slack retry, the same event
at two workers) is queued at most once, and the database, not process memory, is the arbiter.

An acknowledged delivery is never lost: a job whose worker died is offered again once its lease runs out (so a crash
between sending the reply and `finish` answers twice), and a job that keeps failing is given up after `max_attempts`:
its payload (the customer's text) is dropped then, and the row stays as a record of the failure. Delivery ids and
given-up jobs are kept for a day (`forget_older_than`), longer than any retry.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Table, UniqueConstraint, and_, delete, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field

from bot.config import Settings
from bot.store.database import Database, StoreError, StoreTable, sqlite_in_data_dir

log = logging.getLogger(__name__)


class Delivery(StoreTable, table=True):
    __tablename__ = "deliveries"
    __table_args__ = (UniqueConstraint("source", "delivery_id", name="uq_deliveries_source_id"),)

    id: int | None = Field(default=None, primary_key=True)
    source: str
    delivery_id: str
    received_at: datetime = Field(default_factory=lambda: datetime.now(UTC), index=True)


class AnswerJob(StoreTable, table=True):
    __tablename__ = "answer_jobs"

    id: int | None = Field(default=None, primary_key=True)
    source: str = Field(max_length=50)
    delivery_id: str = Field(max_length=200)
    payload: str
    state: str = Field(default="pending", index=True, max_length=10)  # pending | taken | failed
    taken_at: datetime | None = None
    attempts: int = 0
    created_at: datetime


DELIVERIES: Table = Delivery.__table__  # type: ignore[attr-defined]
JOBS: Table = AnswerJob.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class QueuedAnswer:
    id: int
    source: str
    payload: dict[str, Any]
    attempts: int


class Deliveries:
    def __init__(self, database: Database, lease: timedelta = timedelta(minutes=5), max_attempts: int = 3) -> None:
        self._database = database
        self._lease = lease
        self._max_attempts = max_attempts
        database.upgrade()

    def submit(self, source: str, delivery_id: str, payload: Mapping[str, Any]) -> bool:
        """Queue the delivery; False when `(source, delivery_id)` was submitted before (a retry or a repeat)."""
        now = datetime.now(UTC)
        delivery = {"source": source, "delivery_id": delivery_id, "received_at": now}
        job = {"source": source, "delivery_id": delivery_id, "payload": json.dumps(payload), "created_at": now}
        try:
            with self._database.transaction(f"queue the {source} delivery {delivery_id}") as connection:
                connection.execute(insert(DELIVERIES), delivery)
                connection.execute(insert(JOBS).values(state="pending", attempts=0), job)
        except StoreError as error:
            if isinstance(error.__cause__, IntegrityError):  # the unique (source, delivery_id) key: a repeat
                return False
            raise
        return True

    def _available(self, now: datetime) -> ColumnElement[bool]:
        lease_expired = and_(JOBS.c.state == "taken", JOBS.c.taken_at < now - self._lease)
        return or_(JOBS.c.state == "pending", lease_expired)

    def take(self, limit: int, finished: Collection[int] = ()) -> list[QueuedAnswer]:
        """Up to `limit` waiting jobs, oldest first, each given to exactly one caller across all processes; the
        `finished` jobs (answered since the last call) go in the same transaction, one write instead of many.

        One UPDATE ... RETURNING marks the jobs taken and reads them: a write from its first statement (SQLite never
        has to upgrade a read lock, Postgres re-checks each row it waited for), and the write lock is held for as few
        statements as possible, since acknowledgements wait for it.
        """
        now = datetime.now(UTC)
        oldest = select(JOBS.c.id).where(self._available(now)).order_by(JOBS.c.id).limit(limit)
        with self._database.transaction("read the answer queue") as connection:
            if finished:
                connection.execute(delete(JOBS).where(JOBS.c.id.in_(list(finished))))
            if limit <= 0:
                return []
            rows = connection.execute(
                update(JOBS)
                .where(JOBS.c.id.in_(oldest.scalar_subquery()), self._available(now))
                .values(state="taken", taken_at=now, attempts=JOBS.c.attempts + 1)
                .returning(JOBS.c.id, JOBS.c.source, JOBS.c.payload, JOBS.c.attempts)
            ).all()
            given_up = [row for row in rows if row.attempts > self._max_attempts]
            if given_up:
                connection.execute(
                    update(JOBS).where(JOBS.c.id.in_([row.id for row in given_up])).values(state="failed", payload="{}")
                )
        for row in given_up:
            log.error("giving up the %s delivery in job %d after %d attempts", row.source, row.id, row.attempts - 1)
        return [
            QueuedAnswer(row.id, row.source, json.loads(row.payload), row.attempts)
            for row in sorted(rows)
            if row.attempts <= self._max_attempts
        ]

    def finish(self, job_ids: Collection[int]) -> None:
        """The answers were sent: the jobs go (their delivery ids stay, for de-duplication)."""
        if job_ids:
            with self._database.transaction("finish answer jobs") as connection:
                connection.execute(delete(JOBS).where(JOBS.c.id.in_(list(job_ids))))

    def waiting(self) -> int:
        """Jobs not yet answered (pending or in a worker's hands)."""
        query = select(func.count()).select_from(JOBS).where(JOBS.c.state != "failed")
        with self._database.transaction("read the answer queue") as connection:
            return int(connection.execute(query).scalar_one())

    def forget_older_than(self, age: timedelta) -> int:
        """Delete delivery ids and given-up jobs older than `age` (retries stop after minutes); returns how many
        delivery ids went."""
        cutoff = datetime.now(UTC) - age
        with self._database.transaction("forget old deliveries") as connection:
            result = connection.execute(delete(DELIVERIES).where(DELIVERIES.c.received_at < cutoff))
            connection.execute(delete(JOBS).where(JOBS.c.state == "failed", JOBS.c.created_at < cutoff))
        return int(result.rowcount or 0)


def queue_database_url(settings: Settings) -> str:
    """Where webhook deliveries wait for an answer (`[store] queue_url`, see `StoreSettings`)."""
    if settings.store.queue_url:
        return settings.store.queue_url
    if settings.store.url:
        return settings.store.url
    return sqlite_in_data_dir(settings, "deliveries.sqlite")
