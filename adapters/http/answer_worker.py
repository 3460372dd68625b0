"""`AnswerWorker`: answers the webhook deliveries queued in the database (`Deliveries.take`), many at a time.

Routes only verify, queue and acknowledge; this worker does the slow part (the engine, then Slack or the outgoing
webhooks). It runs in the HTTP app's own process when `server.answer_processes` is 0, and otherwise in answer processes
of their own (`adapters.http.answer_process`) at a lower CPU priority, so an acknowledgement never waits behind an
answer. Each job's payload goes to the handler registered for its source ("slack", "webhook").

Answered jobs are removed with the next `take` (one write per poll rather than one per answer, so SQLite's single
writer lock stays free for acknowledgements): a crash in that window (at most `poll_s`) answers those jobs again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from adapters.http.deliveries import Deliveries, QueuedAnswer
from bot.store.database import StoreError

log = logging.getLogger(__name__)

JobHandler = Callable[[dict[str, Any]], Awaitable[None]]

STORE_DOWN_PAUSE_S = 1.0
# A backlogged worker takes more jobs once this share of its slots is free (or at the next poll).
REFILL_SHARE = 8


class AnswerWorker:
    def __init__(
        self,
        deliveries: Deliveries,
        handlers: Mapping[str, JobHandler],
        concurrency: int = 256,
        poll_s: float = 0.05,
    ) -> None:
        self._deliveries = deliveries
        self._handlers = dict(handlers)
        self._concurrency = concurrency
        self._refill = max(1, concurrency // REFILL_SHARE)
        self._poll_s = poll_s
        self._running: set[asyncio.Task[None]] = set()
        self._wake = asyncio.Event()
        self._backlog = False
        self._stopping = False
        self._answered: list[int] = []

    def wake(self) -> None:
        """A job was just queued by this process: take it now rather than at the next poll."""
        self._wake.set()

    async def run(self) -> None:
        """Take and answer jobs until `stop`."""
        while not self._stopping:
            self._wake.clear()
            free = self._free_slots
            answered, self._answered = self._answered, []
            jobs: list[QueuedAnswer] = []
            if free > 0 or answered:
                try:
                    jobs = await asyncio.to_thread(self._deliveries.take, free, answered)
                except StoreError as error:
                    self._answered.extend(answered)
                    log.error("answer worker: %s; trying again in %.0fs", error, STORE_DOWN_PAUSE_S)
                    await asyncio.sleep(STORE_DOWN_PAUSE_S)
                    continue
            for job in jobs:
                task = asyncio.create_task(self._answer(job), name=f"answer-{job.source}-{job.id}")
                self._running.add(task)
                task.add_done_callback(self._finished)
            # With a full batch there is probably more waiting: look again once a batch of slots is free.
            self._backlog = free > 0 and len(jobs) == free
            if (jobs and not self._backlog) or self._stopping:
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._poll_s)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._running.discard(task)
        # Not one take per freed slot: each take is a write, and SQLite has one writer, the acknowledgements included.
        if self._backlog and self._free_slots >= self._refill:
            self._wake.set()

    async def _answer(self, job: QueuedAnswer) -> None:
        handler = self._handlers.get(job.source)
        if handler is None:
            log.error("no answer handler for %r deliveries; dropping job %d", job.source, job.id)
        else:
            try:
                await handler(job.payload)
            except Exception:  # left taken: offered again when its lease runs out
                log.exception("answering job %d (%s, attempt %d) failed", job.id, job.source, job.attempts)
                return
        self._answered.append(job.id)

    @property
    def _free_slots(self) -> int:
        return self._concurrency - len(self._running)

    @property
    def running(self) -> int:
        return len(self._running)

    async def settle(self, timeout_s: float) -> bool:
        """Wait until nothing is queued or being answered; False if that took longer than `timeout_s`."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if not self._running and not await asyncio.to_thread(self._deliveries.waiting):
                return True
            self.wake()
            await asyncio.sleep(0.02)
        return False

    async def stop(self, grace_s: float) -> None:
        """Take nothing more, and let running answers finish for up to `grace_s`; what is cut off is answered again
        once its lease runs out."""
        self._stopping = True
        self._wake.set()
        if self._running:
            _done, pending = await asyncio.wait(set(self._running), timeout=grace_s)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        try:
            await asyncio.to_thread(self._deliveries.finish, self._answered)
            self._answered = []
        except StoreError as error:
            log.error("answered jobs not marked done (they may be answered again): %s", error)
