"""`QueueWriter`: the deliveries submitted while a batch is written, or while another process holds SQLite's write lock,
are stored together in the next transaction; repeats are told apart; a store error fails its whole batch only."""

from __future__ import annotations

import asyncio
import sqlite3

import pytest

from adapters.http.deliveries import KEPT_REPLY, Deliveries
from adapters.http.queue_writer import QueueWriter
from bot.store.database import Database, StoreError


@pytest.fixture
def database(tmp_path):
    database = Database(f"sqlite:///{tmp_path / 'deliveries.sqlite'}")
    yield database
    database.dispose()


def record_transactions(deliveries: Deliveries, monkeypatch) -> list[int]:
    """The size of each batch `deliveries` writes (one transaction each, `Deliveries.submit_many`)."""
    sizes: list[int] = []
    submit_many = deliveries.submit_many

    def recorded(batch):
        sizes.append(len(batch))
        return submit_many(batch)

    monkeypatch.setattr(deliveries, "submit_many", recorded)
    return sizes


async def test_deliveries_waiting_for_the_lock_are_committed_together_in_order(database, tmp_path, monkeypatch):
    deliveries = Deliveries(database)
    writer = QueueWriter(deliveries)
    transactions = record_transactions(deliveries, monkeypatch)
    other_process = sqlite3.connect(tmp_path / "deliveries.sqlite", isolation_level=None)
    other_process.execute("BEGIN IMMEDIATE")  # holds the write lock, as an answer process taking jobs does
    first = asyncio.create_task(writer.submit("slack", "Ev0", {"n": 0}))
    await asyncio.sleep(0.2)  # the first batch waits for the lock
    later = [asyncio.create_task(writer.submit("slack", f"Ev{n}", {"n": n})) for n in range(1, 21)]
    await asyncio.sleep(0.1)
    other_process.execute("COMMIT")
    assert await first and all(await asyncio.gather(*later))
    assert transactions == [1, 20], "the twenty that came while the first batch waited were written in one"
    assert [job.payload["n"] for job in deliveries.take(100)] == list(range(21)), "queued in the order they came"
    other_process.close()
    writer.close()


async def test_a_repeat_is_refused_in_the_same_batch_and_after_it(database):
    writer = QueueWriter(Deliveries(database))
    results = await asyncio.gather(
        writer.submit("slack", "Ev1", {"text": "hello"}),
        writer.submit("slack", "Ev1", {"text": "a retry, at the same moment"}),
        writer.submit("webhook", "Ev1", {"text": "another source"}),
    )
    assert results == [True, False, True]
    assert not await writer.submit("slack", "Ev1", {"text": "a retry, later"})
    writer.close()


async def test_a_store_error_fails_every_delivery_of_its_batch_and_the_next_batch_is_written(database, monkeypatch):
    deliveries = Deliveries(database)
    writer = QueueWriter(deliveries)
    real_submit_many = deliveries.submit_many
    calls = []

    def failing_once(batch):
        calls.append(len(batch))
        if len(calls) == 1:
            raise StoreError("cannot queue 2 deliveries (OperationalError)")
        return real_submit_many(batch)

    monkeypatch.setattr(deliveries, "submit_many", failing_once)
    results = await asyncio.gather(
        writer.submit("slack", "Ev1", {}), writer.submit("slack", "Ev2", {}), return_exceptions=True
    )
    assert [type(result) for result in results] == [StoreError, StoreError]
    assert await writer.submit("slack", "Ev1", {}), "not stored by the failed batch, so not a repeat"
    assert deliveries.waiting() == 1
    writer.close()


async def test_a_payload_with_the_reserved_key_is_refused_alone(database):
    writer = QueueWriter(Deliveries(database))
    smuggled, honest = await asyncio.gather(
        writer.submit("webhook", "w1", {KEPT_REPLY: {"text": "not from the engine"}}),
        writer.submit("webhook", "w2", {"text": "hello"}),
        return_exceptions=True,
    )
    assert isinstance(smuggled, ValueError) and honest is True
    writer.close()
