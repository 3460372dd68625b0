"""`AnswerWorker`: answers the webhook deliveries queued in the database (`Deliveries.take`), many at a time.

Routes only verify, queue and acknowledge; this worker does the slow part (the engine, then Slack or the outgoing
webhooks). It runs in the HTTP app's own process when `server.answer_processes` is 0, and otherwise in answer processes
of their own (`adapters.http.answer_process`) at a lower CPU priority, so an acknowledgement never waits behind an
answer. Each job goes to the `JobHandler` registered for its source ("slack", "webhook", "outgoing", "operator",
"handoff") in two steps: `answer` (the engine, or `nothing_to_answer` for a job that carries what it delivers)
computes the reply, `deliver` sends it. A worker takes the sources its `SourceFilter` names: the HTTP app's take all
but the ones only the Discord client can deliver, the Discord client's only those. When either step fails the job
is retried with backoff through the queue (`Deliveries.retry_later`), keeping a reply that was computed, so a retry
sends it again without running the engine (and storing the turn) once more; after the last attempt the job is
recorded as undelivered.

Answered jobs are removed with the next `take` (one write per poll rather than one per answer, so SQLite's single
writer lock stays free for acknowledgements): a crash in that window (at most `poll_s`) answers those jobs again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

from adapters.http.deliveries import ANY_SOURCE, Deliveries, DeliveryFailedError, QueuedAnswer, SourceFilter
from bot.store.database import StoreError
from bot.types import Citation, Reply

log = logging.getLogger(__name__)


async def _nothing_to_send(_payload: dict[str, Any], _reply: Reply) -> None:
    """For sources whose replies go out through the responder's listeners (the outgoing webhooks)."""


async def nothing_to_answer(_payload: dict[str, Any]) -> Reply:
    """The answer step of a job whose payload is what it delivers (an operator's reply, a handoff notice): the
    engine is not run."""
    return Reply(text="", kind="silent")


@dataclass(frozen=True)
class JobHandler:
    """How one source's jobs are answered (`answer`: payload -> reply) and their replies sent (`deliver`, which
    raises `DeliveryFailedError` when it could not)."""

    answer: Callable[[dict[str, Any]], Awaitable[Reply]]
    deliver: Callable[[dict[str, Any], Reply], Awaitable[None]] = _nothing_to_send


def reply_record(reply: Reply) -> dict[str, Any]:
    """The reply as JSON, to keep with its job while its delivery is retried."""
    return asdict(reply)


def reply_from_record(record: Mapping[str, Any]) -> Reply:
    citations = tuple(Citation(**citation) for citation in record.get("citations", ()))
    return Reply(**{**record, "citations": citations})


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
        sources: SourceFilter = ANY_SOURCE,
    ) -> None:
        """`sources`: the jobs this worker takes (any, by default: a job without a handler is given up)."""
        self._deliveries = deliveries
        self._handlers = dict(handlers)
        self._sources = sources
        self._concurrency = concurrency
        self._refill = max(1, concurrency // REFILL_SHARE)
        self._poll_s = poll_s
        self._running: dict[asyncio.Task[None], int] = {}  # each answer being given -> its job id
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
                    jobs = await asyncio.to_thread(self._deliveries.take, free, answered, self._sources)
                except StoreError as error:
                    self._answered.extend(answered)
                    log.error("answer worker: %s; trying again in %.0fs", error, STORE_DOWN_PAUSE_S)
                    await asyncio.sleep(STORE_DOWN_PAUSE_S)
                    continue
            for job in jobs:
                task = asyncio.create_task(self._answer(job), name=f"answer-{job.source}-{job.id}")
                self._running[task] = job.id
                task.add_done_callback(self._finished)
            # With a full batch there is probably more waiting: look again once a batch of slots is free.
            self._backlog = free > 0 and len(jobs) == free
            if (jobs and not self._backlog) or self._stopping:
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._poll_s)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._running.pop(task, None)
        # Not one take per freed slot: each take is a write, and SQLite has one writer, the acknowledgements included.
        if self._backlog and self._free_slots >= self._refill:
            self._wake.set()

    async def _answer(self, job: QueuedAnswer) -> None:
        handler = self._handlers.get(job.source)
        if handler is None:
            await self._settle_failed(job, f"no answer handler for {job.source!r} deliveries", permanent=True)
            return
        reply = reply_from_record(job.reply) if job.reply is not None else None
        try:
            if reply is None:
                reply = await handler.answer(job.payload)
            await handler.deliver(job.payload, reply)
        except DeliveryFailedError as failure:
            await self._settle_failed(job, failure.reason, reply, failure.permanent)
            return
        except Exception as error:
            log.exception("answering job %d (%s, attempt %d) failed", job.id, job.source, job.attempts)
            await self._settle_failed(job, f"{error.__class__.__name__} while answering", reply)
            return
        self._answered.append(job.id)

    async def _settle_failed(
        self, job: QueuedAnswer, reason: str, reply: Reply | None = None, permanent: bool = False
    ) -> None:
        """Retry the job later (its reply kept) or, when `permanent` or out of attempts, record it undelivered; a
        store that is down leaves it taken, so it comes back once its lease runs out."""
        try:
            if permanent:
                await asyncio.to_thread(self._deliveries.give_up, job, reason)
            else:
                record = reply_record(reply) if reply is not None else None
                await asyncio.to_thread(self._deliveries.retry_later, job, reason, record)
        except StoreError as error:
            log.error("job %d: %s; cannot schedule a retry (%s): it comes back after its lease", job.id, reason, error)

    @property
    def _free_slots(self) -> int:
        return self._concurrency - len(self._running)

    @property
    def running(self) -> int:
        return len(self._running)

    async def settle(self, timeout_s: float) -> bool:
        """Wait until nothing this worker takes is queued or being answered; False if that took longer than
        `timeout_s`."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if not self._running and not await asyncio.to_thread(self._deliveries.waiting, self._sources):
                return True
            self.wake()
            await asyncio.sleep(0.02)
        return False

    async def stop(self, grace_s: float) -> None:
        """Take nothing more, and let running answers finish for up to `grace_s`; what is cut off is released, to be
        answered again at once by the next worker (or, if the store is down, once its lease runs out)."""
        self._stopping = True
        self._wake.set()
        cut_off: list[int] = []
        if self._running:
            _done, pending = await asyncio.wait(set(self._running), timeout=grace_s)
            cut_off = [self._running[task] for task in pending if task in self._running]
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        try:
            await asyncio.to_thread(self._deliveries.finish, self._answered)
            self._answered = []
            await asyncio.to_thread(self._deliveries.release, cut_off)
        except StoreError as error:
            log.error("answered jobs not marked done (they may be answered again): %s", error)
