"""`WorkerHeartbeats`: how answer workers on any machine tell every `deskbot serve` that something answers, through
the store where the delivery queue lives.

With `[server] answering = "external"` an HTTP-only `deskbot serve` answers no queued delivery itself, and the
`deskbot worker` processes that do may run on other machines: the local status folder of `answer_status` cannot
reach them. So each answer process of `deskbot worker` owns one row of the `answer_workers` table (its id
`<host>:<pid>`) and writes its state there (`loading`, `ready`, `failed`, `stopping`) with the time, every
`BEAT_EVERY_S`; it deletes the row when it stops cleanly. `readiness` (what `/readyz` of an HTTP-only serve asks) is
ready when at least one worker said `ready` less than `FRESH_FOR_S` ago: a worker killed with kill -9, or cut off
from the store, stops beating and stops counting. `host_readiness` is the same question for the workers of one host
(`deskbot worker --check`, the container's health check). Each beat also deletes the rows of workers silent for
`FORGET_AFTER_S`, so dead workers do not pile up.

The time is the writer's clock (seconds since the epoch): machines whose clocks disagree by more than `FRESH_FOR_S`
minus `BEAT_EVERY_S` see each other's workers as silent (keep them on NTP).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from sqlalchemy import Table, delete, insert, select, update
from sqlmodel import Field

from adapters.http.answer_status import AnswerReadiness
from bot.store.database import Database, StoreTable

BEAT_EVERY_S = 5.0
FRESH_FOR_S = 20.0
FORGET_AFTER_S = 3600.0
LISTED_AT_MOST = 5  # workers named in a readiness detail


class AnswerWorkerBeat(StoreTable, table=True):
    __tablename__ = "answer_workers"

    worker_id: str = Field(primary_key=True, max_length=200)  # <host>:<pid>
    host: str = Field(index=True, max_length=200)
    pid: int
    state: str = Field(max_length=10)  # loading | ready | failed | stopping
    beat_at: float  # the writer's time.time()
    started_at: float


BEATS: Table = AnswerWorkerBeat.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class WorkerBeat:
    worker_id: str
    state: str
    age_s: float


class WorkerHeartbeats:
    def __init__(self, database: Database) -> None:
        self._database = database
        database.upgrade()

    def beat(self, host: str, pid: int, state: str) -> None:
        """Worker `<host>:<pid>` says `state` now; also forgets workers silent for `FORGET_AFTER_S`."""
        now = time.time()
        worker_id = f"{host}:{pid}"
        with self._database.transaction("write the answer worker's heartbeat") as connection:
            connection.execute(delete(BEATS).where(BEATS.c.beat_at < now - FORGET_AFTER_S))
            changed = connection.execute(
                update(BEATS).where(BEATS.c.worker_id == worker_id).values(state=state, beat_at=now)
            )
            if not changed.rowcount:  # only this process writes its row: no other insert can race this one
                row = {"worker_id": worker_id, "host": host, "pid": pid, "state": state, "beat_at": now}
                connection.execute(insert(BEATS), {**row, "started_at": now})

    def forget(self, host: str, pid: int) -> None:
        """Worker `<host>:<pid>` stopped: it no longer counts, and its row goes."""
        with self._database.transaction("remove the answer worker's heartbeat") as connection:
            connection.execute(delete(BEATS).where(BEATS.c.worker_id == f"{host}:{pid}"))

    def beats(self, host: str | None = None) -> list[WorkerBeat]:
        """Every worker's last word (of `host` only, when given), the most recent first."""
        query = select(BEATS.c.worker_id, BEATS.c.state, BEATS.c.beat_at).order_by(BEATS.c.beat_at.desc())
        if host is not None:
            query = query.where(BEATS.c.host == host)
        with self._database.transaction("read the answer workers' heartbeats") as connection:
            rows = connection.execute(query).all()
        now = time.time()
        return [WorkerBeat(row.worker_id, row.state, max(0.0, now - row.beat_at)) for row in rows]

    def readiness(self, fresh_for_s: float = FRESH_FOR_S) -> AnswerReadiness:
        """Ready when at least one worker said `ready` within `fresh_for_s`."""
        return _readiness(self.beats(), fresh_for_s, "in this store")

    def host_readiness(self, host: str, fresh_for_s: float = FRESH_FOR_S) -> AnswerReadiness:
        """Ready when the workers of `host` that beat within `fresh_for_s` are all `ready`, and there is one."""
        beats = [beat for beat in self.beats(host) if beat.age_s <= fresh_for_s]
        readiness = _readiness(beats, fresh_for_s, f"on {host}")
        not_ready = [beat for beat in beats if beat.state != "ready"]
        if readiness.ready and not_ready:
            return AnswerReadiness(False, f"{readiness.detail}; not ready: {_listed(not_ready, fresh_for_s)}")
        return readiness


def _readiness(beats: list[WorkerBeat], fresh_for_s: float, where: str) -> AnswerReadiness:
    if not beats:
        return AnswerReadiness(False, f"no answer worker has beaten {where} (start `deskbot worker`)")
    ready = [beat for beat in beats if beat.state == "ready" and beat.age_s <= fresh_for_s]
    if ready:
        return AnswerReadiness(True, f"{len(ready)} answer worker(s) ready: {_listed(ready, fresh_for_s)}")
    return AnswerReadiness(False, f"no answer worker ready {where}: {_listed(beats, fresh_for_s)}")


def _listed(beats: list[WorkerBeat], fresh_for_s: float) -> str:
    said = [
        f"{beat.worker_id} {beat.state}" if beat.age_s <= fresh_for_s else f"{beat.worker_id} silent {beat.age_s:.0f}s"
        for beat in beats[:LISTED_AT_MOST]
    ]
    more = f" and {len(beats) - LISTED_AT_MOST} more" if len(beats) > LISTED_AT_MOST else ""
    return ", ".join(said) + more
