"""`QueueWriter`: stores the deliveries an HTTP process acknowledges in batches, one transaction each (group commit).

A webhook is acknowledged once its delivery is stored (`Deliveries`), so every acknowledgement waits for a write,
and the queue takes one write at a time: SQLite has a single writer lock, which the answer processes take too.
Written one by one from one thread, each acknowledgement waited for every delivery queued before it (a commit and two
hand-overs of the GIL between the event loop and that thread each), so a lock held elsewhere for 50 ms left a queue
that drained one commit at a time, long after the lock was free.

Here `submit` adds the delivery to the batch that waits for the writer thread, and the thread stores the whole batch
in one transaction (`Deliveries.submit_many`): deliveries that arrive while a batch is written, or while the lock is
held elsewhere, are committed together in the next one. One commit, one lock hold and one hand-over per batch, not
per delivery; an acknowledgement waits for at most the batch being written and its own. Nothing waits to fill a
batch: a delivery alone is written at once. A store error fails every delivery of its batch, and each of their
requests answers 503 (`adapters.http.store_errors`), so their senders retry.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from adapters.http.deliveries import NewDelivery

if TYPE_CHECKING:
    from adapters.http.deliveries import Deliveries

MAX_BATCH = 256


class QueueWriter:
    def __init__(self, deliveries: Deliveries, max_batch: int = MAX_BATCH) -> None:
        self._deliveries = deliveries
        self._max_batch = max_batch
        self._waiting: list[tuple[NewDelivery, asyncio.Future[bool]]] = []
        self._writing: asyncio.Task[None] | None = None
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="deskbot-queue-writer")

    async def submit(
        self, source: str, delivery_id: str, payload: Mapping[str, Any], reply: Mapping[str, Any] | None = None
    ) -> bool:
        """`Deliveries.submit`, written with the deliveries submitted meanwhile: True once stored, False for a
        delivery id submitted before."""
        delivery = NewDelivery.of(source, delivery_id, payload, reply)
        stored: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._waiting.append((delivery, stored))
        if self._writing is None or self._writing.done():
            self._writing = asyncio.create_task(self._write_batches(), name="deskbot-queue-writer")
        return await stored

    async def _write_batches(self) -> None:
        loop = asyncio.get_running_loop()
        while self._waiting:
            batch, self._waiting = self._waiting[: self._max_batch], self._waiting[self._max_batch :]
            deliveries = [delivery for delivery, _ in batch]
            try:
                queued = await loop.run_in_executor(self._thread, self._deliveries.submit_many, deliveries)
            except Exception as error:  # raised again in every request of the batch
                for _, stored in batch:
                    if not stored.done():  # a request whose client went away no longer waits
                        stored.set_exception(error)
                continue
            for (_, stored), was_queued in zip(batch, queued, strict=True):
                if not stored.done():
                    stored.set_result(was_queued)

    def close(self) -> None:
        self._thread.shutdown(wait=False)
