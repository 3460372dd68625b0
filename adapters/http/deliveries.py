"""Webhook deliveries: de-duplicated, queued in the database, answered once and delivered or recorded as undelivered.

A route acknowledges a delivery as soon as `Deliveries.submit` has stored it; an answer worker (`take`, `finish`) sends
the reply later, in this process or another (`adapters.http.answer_worker`). Recording the delivery id under a unique
key and queueing its job happen in one transaction, so a retried or repeated delivery (a Slack retry, the same event
at two workers) is queued at most once, and the database, not process memory, is the arbiter.

An acknowledged delivery is never lost. A taken job is held for `lease`; a job whose worker died comes back when its
hold ends (so a crash between sending the reply and `finish` answers twice). An attempt that failed (the reply could
not be sent, or answering raised) is `retry_later`: the job is held again for a backoff delay that doubles with each
attempt (`RetryBackoff`), so it comes back by the same rule, and the reply it had computed is kept with it (under
`KEPT_REPLY`), so a retry re-sends that reply and does not run the engine again. After `max_attempts`, or at once for
a failure that no retry can mend, the job is given up: its state becomes `failed`, its payload (the customer's text,
the reply) is replaced by the reason, and the row stays as the record of an undelivered reply (`undelivered()`,
counted by `on_given_up`). A worker may take only some sources' jobs (`SourceFilter`): the ones only its process can
deliver, or all but those. Delivery ids and given-up jobs are kept for a day (`forget_older_than`), longer than any
retry.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Table,
    UniqueConstraint,
    and_,
    delete,
    func,
    insert,
    or_,
    select,
    true,
    update,
)
from sqlmodel import Field

from adapters.http.settings import ServerSettings
from bot.config import Settings
from bot.store.database import Database, StoreError, StoreTable, sqlite_in_data_dir

log = logging.getLogger(__name__)

CLAIM_ROUNDS = 3
"""How often one `take` looks for waiting jobs again when other workers claimed all the ones it found."""

KEPT_REPLY = "deskbot_kept_reply"
"""The key under which a job's payload keeps the reply computed for it, while its delivery is retried."""


class DeliveryFailedError(Exception):
    """A reply could not be delivered; `permanent` when no retry can mend it (a channel that does not exist)."""

    def __init__(self, reason: str, permanent: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.permanent = permanent


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
    # pending | taken | retrying (held for its backoff delay) | failed (given up: the record of an undelivered reply)
    state: str = Field(default="pending", index=True, max_length=10)
    taken_at: datetime | None = None  # when the job's current hold began (it ends `lease` later)
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
    reply: dict[str, Any] | None = None
    """The reply an earlier attempt computed and could not deliver (JSON), to be sent again as it is."""


@dataclass(frozen=True)
class UndeliveredReply:
    source: str
    delivery_id: str
    attempts: int
    reason: str
    created_at: datetime


@dataclass(frozen=True)
class RetryBackoff:
    """How long a failed attempt waits: `first_s`, doubled after each failed attempt, at most `max_s`."""

    first_s: float = 2.0
    max_s: float = 300.0

    def delay_after(self, attempts: int) -> timedelta:
        return timedelta(seconds=min(self.max_s, self.first_s * 2 ** max(0, attempts - 1)))


@dataclass(frozen=True)
class SourceFilter:
    """Which sources' jobs a worker takes: `only` these (None: any) and none of `excluded`. A process that alone
    can deliver some jobs (the Discord client, for operator replies in Discord) takes only those, and the HTTP
    app's workers leave them to it."""

    only: frozenset[str] | None = None
    excluded: frozenset[str] = frozenset()

    def condition(self) -> ColumnElement[bool]:
        """The filter as a condition on the jobs table."""
        included = JOBS.c.source.in_(sorted(self.only)) if self.only is not None else true()
        return and_(included, JOBS.c.source.not_in(sorted(self.excluded))) if self.excluded else included


ANY_SOURCE = SourceFilter()


@dataclass(frozen=True)
class NewDelivery:
    """A delivery to queue: its de-duplication key (`source`, `delivery_id`) and its job's payload as stored."""

    source: str
    delivery_id: str
    stored_payload: str

    @classmethod
    def of(
        cls, source: str, delivery_id: str, payload: Mapping[str, Any], reply: Mapping[str, Any] | None = None
    ) -> NewDelivery:
        """The delivery of `payload`, with the `reply` already given when there is one (see `Deliveries.submit`)."""
        if KEPT_REPLY in payload:
            raise ValueError(f"a delivery payload cannot carry the reserved key {KEPT_REPLY!r}")
        stored = {**payload, KEPT_REPLY: dict(reply)} if reply is not None else payload
        return cls(source, delivery_id, json.dumps(stored))

    @property
    def key(self) -> tuple[str, str]:
        return self.source, self.delivery_id


def _insert_ignoring_repeats(connection: Connection, table: Table) -> Any:
    """`INSERT ... ON CONFLICT DO NOTHING` in the database's dialect (SQLite and Postgres, the supported stores)."""
    dialect = connection.dialect.name
    if dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        return sqlite_insert(table).on_conflict_do_nothing()
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as postgres_insert

        return postgres_insert(table).on_conflict_do_nothing()
    raise StoreError(f"the delivery queue needs SQLite or Postgres, not {dialect} ([store] queue_url)")


def _queued(row: Any) -> QueuedAnswer:
    payload = json.loads(row.payload)
    reply = payload.pop(KEPT_REPLY, None)
    return QueuedAnswer(row.id, row.source, payload, row.attempts, reply)


class Deliveries:
    def __init__(
        self,
        database: Database,
        lease: timedelta = timedelta(minutes=5),
        max_attempts: int = 8,
        backoff: RetryBackoff = RetryBackoff(),
        on_given_up: Callable[[str], None] | None = None,
    ) -> None:
        """`on_given_up(source)` is called for every job given up here (the undelivered-replies counter)."""
        self._database = database
        self._lease = lease
        self._max_attempts = max_attempts
        self._backoff = backoff
        self._on_given_up = on_given_up or (lambda _source: None)
        database.upgrade()

    @property
    def database(self) -> Database:
        """Where the queue lives (the answer workers' heartbeats live beside it)."""
        return self._database

    def submit(
        self, source: str, delivery_id: str, payload: Mapping[str, Any], reply: Mapping[str, Any] | None = None
    ) -> bool:
        """Queue the delivery; False when `(source, delivery_id)` was submitted before (a retry or a repeat). A job
        queued with its `reply` (an announcement of a reply already given) is only delivered, never answered."""
        return self.submit_many([NewDelivery.of(source, delivery_id, payload, reply)])[0]

    def submit_many(self, batch: Sequence[NewDelivery]) -> list[bool]:
        """Queue a batch in one transaction (one commit): for each delivery, False when its `(source, delivery_id)`
        was submitted before, or earlier in the batch. The unique key decides (`ON CONFLICT DO NOTHING`), so
        processes and instances submitting the same id at once queue it once."""
        firsts: dict[tuple[str, str], NewDelivery] = {}
        for delivery in batch:
            firsts.setdefault(delivery.key, delivery)  # the first of each key is queued, in the batch's order
        now = datetime.now(UTC)

        def write(connection: Connection) -> set[tuple[str, str]]:
            rows = [{"source": d.source, "delivery_id": d.delivery_id, "received_at": now} for d in firsts.values()]
            recording = _insert_ignoring_repeats(connection, DELIVERIES).returning(
                DELIVERIES.c.source, DELIVERIES.c.delivery_id
            )
            recorded = connection.execute(recording, rows).all()  # one statement, compiled once per process
            queued = {(row.source, row.delivery_id) for row in recorded}
            jobs = [
                {"source": delivery.source, "delivery_id": delivery.delivery_id, "payload": delivery.stored_payload}
                for key, delivery in firsts.items()
                if key in queued
            ]
            if jobs:
                connection.execute(insert(JOBS).values(state="pending", attempts=0, created_at=now), jobs)
            return queued

        # the senders wait for this write: ahead of the answer workers' writes (`Database.write_first_in_line`)
        queued = self._database.write_first_in_line(f"queue {len(batch)} deliveries", write)
        results = []
        for delivery in batch:
            results.append(delivery.key in queued)
            queued.discard(delivery.key)  # a repeat later in the batch is a repeat
        return results

    def _available(self, now: datetime, sources: SourceFilter) -> ColumnElement[bool]:
        hold_ended = and_(JOBS.c.state.in_(["taken", "retrying"]), JOBS.c.taken_at < now - self._lease)
        return and_(or_(JOBS.c.state == "pending", hold_ended), sources.condition())

    def take(
        self, limit: int, finished: Collection[int] = (), sources: SourceFilter = ANY_SOURCE
    ) -> list[QueuedAnswer]:
        """Up to `limit` waiting jobs of `sources`, oldest first, each given to exactly one caller across all
        processes; the `finished` jobs (answered since the last call) go in the same transaction, one write instead
        of many.

        The write lock is held only for writes by primary key, since acknowledgements wait for it: the waiting jobs
        are found by a read first (no lock; it scans every waiting job), then one UPDATE ... RETURNING claims those
        of them that are still available, by id, and reads them. Its condition is checked again under the lock
        (SQLite has one writer; Postgres re-checks each row it waited for), so a job another worker claimed in
        between is not returned twice; a take that lost all it found to others looks again (`CLAIM_ROUNDS`). A poll
        that finds nothing and has nothing finished writes nothing. A job taken more than `max_attempts` times (its
        workers kept dying) is given up instead of being handed out.
        """
        now = datetime.now(UTC)
        to_delete = list(finished)
        taken: list[Any] = []
        for _round in range(CLAIM_ROUNDS):
            wanted = limit - len(taken)
            candidates = self._waiting_ids(now, wanted, sources) if wanted > 0 else []
            if not candidates and not to_delete:
                break
            claimed = self._claim(candidates, to_delete, now, sources)
            to_delete = []
            taken.extend(claimed)
            if claimed or not candidates:  # a round that lost none or some of what it found is enough
                break
        return [_queued(row) for row in sorted(taken)]

    def _waiting_ids(self, now: datetime, limit: int, sources: SourceFilter) -> list[int]:
        """The ids of the oldest `limit` available jobs, read without taking the write lock."""
        oldest = select(JOBS.c.id).where(self._available(now, sources)).order_by(JOBS.c.id).limit(limit)
        with self._database.transaction("read the answer queue") as connection:
            return list(connection.execute(oldest).scalars())

    def _claim(self, candidates: list[int], finished: list[int], now: datetime, sources: SourceFilter) -> list[Any]:
        """In one write transaction: delete the `finished` jobs, mark those `candidates` that are still available
        taken; the claimed rows within `max_attempts` (the others are given up)."""
        # Both statements are built before the first of them takes the lock.
        deleting = delete(JOBS).where(JOBS.c.id.in_(finished))
        claiming = (
            update(JOBS)
            .where(JOBS.c.id.in_(candidates), self._available(now, sources))
            .values(state="taken", taken_at=now, attempts=JOBS.c.attempts + 1)
            .returning(JOBS.c.id, JOBS.c.source, JOBS.c.payload, JOBS.c.attempts)
        )
        with self._database.transaction("take answer jobs") as connection:
            if finished:
                connection.execute(deleting)
            if not candidates:
                return []
            rows = connection.execute(claiming).all()
            given_up = [row for row in rows if row.attempts > self._max_attempts]
            reason = f"no outcome after {self._max_attempts} attempts (the last one's answering process died)"
            for row in given_up:
                self._record_given_up(connection, row.id, reason)
        for row in given_up:
            self._announce_given_up(row.source, row.id, row.attempts - 1, reason)
        return [row for row in rows if row.attempts <= self._max_attempts]

    def retry_later(self, job: QueuedAnswer, reason: str, reply: Mapping[str, Any] | None = None) -> bool:
        """The attempt failed: hold the job for its backoff delay, keeping `reply` (or the one it already kept) for
        the next attempt; False when that was its last attempt and it was given up instead."""
        if job.attempts >= self._max_attempts:
            self.give_up(job, f"{reason} (after {job.attempts} attempts)")
            return False
        delay = self._backoff.delay_after(job.attempts)
        kept = reply if reply is not None else job.reply
        payload = {**job.payload, KEPT_REPLY: dict(kept)} if kept is not None else job.payload
        # The hold ends `lease` after taken_at: start it so that it ends after `delay` instead.
        held_from = datetime.now(UTC) + delay - self._lease
        with self._database.transaction(f"retry answer job {job.id} later") as connection:
            connection.execute(
                update(JOBS)
                .where(JOBS.c.id == job.id)
                .values(state="retrying", taken_at=held_from, payload=json.dumps(payload))
            )
        log.warning(
            "%s delivery in job %d: %s (attempt %d of %d); retrying in %.1fs",
            job.source,
            job.id,
            reason,
            job.attempts,
            self._max_attempts,
            delay.total_seconds(),
        )
        return True

    def give_up(self, job: QueuedAnswer, reason: str) -> None:
        """Record the job as undelivered: its text and reply go, the reason stays (see `undelivered`)."""
        with self._database.transaction(f"give up answer job {job.id}") as connection:
            self._record_given_up(connection, job.id, reason)
        self._announce_given_up(job.source, job.id, job.attempts, reason)

    @staticmethod
    def _record_given_up(connection: Connection, job_id: int, reason: str) -> None:
        payload = json.dumps({"undelivered": reason})
        connection.execute(update(JOBS).where(JOBS.c.id == job_id).values(state="failed", payload=payload))

    def _announce_given_up(self, source: str, job_id: int, attempts: int, reason: str) -> None:
        log.error("giving up the %s delivery in job %d after %d attempts: %s", source, job_id, attempts, reason)
        self._on_given_up(source)

    def release(self, job_ids: Collection[int]) -> None:
        """Jobs whose answers were cut off by a shutdown: waiting again at once, the cut-off attempt not counted."""
        if job_ids:
            with self._database.transaction("release answer jobs") as connection:
                connection.execute(
                    update(JOBS)
                    .where(JOBS.c.id.in_(list(job_ids)), JOBS.c.state == "taken")
                    .values(state="pending", taken_at=None, attempts=JOBS.c.attempts - 1)
                )

    def finish(self, job_ids: Collection[int]) -> None:
        """The answers were sent: the jobs go (their delivery ids stay, for de-duplication)."""
        if job_ids:
            with self._database.transaction("finish answer jobs") as connection:
                connection.execute(delete(JOBS).where(JOBS.c.id.in_(list(job_ids))))

    def waiting(self, sources: SourceFilter = ANY_SOURCE) -> int:
        """Jobs of `sources` not yet answered (pending, waiting for a retry, or in a worker's hands)."""
        query = select(func.count()).select_from(JOBS).where(JOBS.c.state != "failed", sources.condition())
        with self._database.transaction("read the answer queue") as connection:
            return int(connection.execute(query).scalar_one())

    def undelivered(self) -> list[UndeliveredReply]:
        """The given-up jobs still remembered, oldest first: what could not be delivered, and why."""
        query = (
            select(JOBS.c.source, JOBS.c.delivery_id, JOBS.c.attempts, JOBS.c.payload, JOBS.c.created_at)
            .where(JOBS.c.state == "failed")
            .order_by(JOBS.c.id)
        )
        with self._database.transaction("read the undelivered replies") as connection:
            rows = connection.execute(query).all()
        return [
            UndeliveredReply(
                row.source,
                row.delivery_id,
                row.attempts,
                str(json.loads(row.payload).get("undelivered", "unknown")),
                row.created_at,
            )
            for row in rows
        ]

    def forget_older_than(self, age: timedelta) -> int:
        """Delete delivery ids and given-up jobs older than `age` (retries stop after minutes); returns how many
        delivery ids went."""
        cutoff = datetime.now(UTC) - age
        with self._database.transaction("forget old deliveries") as connection:
            result = connection.execute(delete(DELIVERIES).where(DELIVERIES.c.received_at < cutoff))
            connection.execute(delete(JOBS).where(JOBS.c.state == "failed", JOBS.c.created_at < cutoff))
        return int(result.rowcount or 0)


def deliveries_from_settings(
    settings: Settings, database: Database, on_given_up: Callable[[str], None] | None = None
) -> Deliveries:
    """The delivery queue in `database`, held, retried and backed off as `[server]` says."""
    server = settings.section(ServerSettings)
    return Deliveries(
        database,
        lease=timedelta(seconds=server.answer_lease_s),
        max_attempts=server.delivery_attempts,
        backoff=RetryBackoff(server.retry_backoff_s, server.retry_backoff_max_s),
        on_given_up=on_given_up,
    )


def queue_database_url(settings: Settings) -> str:
    """Where webhook deliveries wait for an answer (`[store] queue_url`, see `StoreSettings`)."""
    if settings.store.queue_url:
        return settings.store.queue_url
    if settings.store.url:
        return settings.store.url
    return sqlite_in_data_dir(settings, "deliveries.sqlite")
