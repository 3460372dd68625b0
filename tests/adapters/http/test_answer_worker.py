"""`AnswerWorker` over a real SQLite queue, and a delivery that outlives the process that acknowledged it."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta
from typing import Any

import httpx

from adapters.http.answer_worker import AnswerWorker, JobHandler
from adapters.http.app import build_context, create_app
from adapters.http.deliveries import ANY_SOURCE, Deliveries, DeliveryFailedError, RetryBackoff
from bot.store.database import Database
from bot.types import Citation, Reply
from tests.adapters.http.conftest import SlackSender, answered, fixture


def queue(tmp_path, lease_s: float = 300.0, **options: Any) -> Deliveries:
    return Deliveries(Database(f"sqlite:///{tmp_path / 'queue.sqlite'}"), lease=timedelta(seconds=lease_s), **options)


def answering(answer: Any) -> JobHandler:
    """A handler whose `answer` step is `answer(payload)` (returning nothing) and which has nothing to deliver."""

    async def answer_step(payload: dict[str, Any]) -> Reply:
        await answer(payload)
        return Reply(text="done")

    return JobHandler(answer_step)


async def sorry(_payload: dict[str, Any]) -> Reply:
    return Reply(text="Sorry about that.")


async def run_until_settled(worker: AnswerWorker, timeout_s: float = 5.0) -> bool:
    running = asyncio.create_task(worker.run())
    try:
        return await worker.settle(timeout_s)
    finally:
        await worker.stop(1.0)
        await running


async def test_each_job_goes_to_its_sources_handler_once(tmp_path):
    deliveries = queue(tmp_path)
    seen: list[tuple[str, Any]] = []

    async def slack(payload: dict[str, Any]) -> None:
        await asyncio.sleep(0.05)
        seen.append(("slack", payload["n"]))

    async def webhook(payload: dict[str, Any]) -> None:
        seen.append(("webhook", payload["n"]))

    for n in range(20):
        deliveries.submit("slack" if n % 2 else "webhook", f"d{n}", {"n": n})
    worker = AnswerWorker(
        deliveries, {"slack": answering(slack), "webhook": answering(webhook)}, concurrency=4, poll_s=0.01
    )
    assert await run_until_settled(worker)
    assert sorted(seen) == sorted(("slack" if n % 2 else "webhook", n) for n in range(20))
    assert deliveries.waiting() == 0


class CountedTakes(Deliveries):
    takes = 0

    def take(self, limit: int, finished: Any = (), sources: Any = ANY_SOURCE) -> Any:
        self.takes += 1
        return super().take(limit, finished, sources)


async def test_a_backlogged_worker_takes_jobs_in_batches_not_one_per_freed_slot(tmp_path):
    # Each take is a write that acknowledgements wait for: with 96 answers ending one by one on a 32-slot worker,
    # taking again at every freed slot would be ~64 writes; refilling an eighth at a time is ~16.
    deliveries = CountedTakes(Database(f"sqlite:///{tmp_path / 'queue.sqlite'}"))
    for n in range(96):
        deliveries.submit("slack", f"Ev{n}", {"n": n})
    answered: list[int] = []

    async def staggered(payload: dict[str, Any]) -> None:
        await asyncio.sleep(0.005 * (payload["n"] % 32))
        answered.append(payload["n"])

    worker = AnswerWorker(deliveries, {"slack": answering(staggered)}, concurrency=32, poll_s=1.0)
    running = asyncio.create_task(worker.run())
    async with asyncio.timeout(20.0):  # not `settle`, whose wake-ups would add takes of their own
        while len(answered) < 96:
            await asyncio.sleep(0.01)
    await worker.stop(1.0)
    await running
    assert sorted(answered) == list(range(96))
    assert deliveries.takes <= 30


async def test_a_failed_answer_is_retried_after_its_backoff_not_its_lease(tmp_path, caplog):
    deliveries = queue(tmp_path, backoff=RetryBackoff(first_s=0.2))
    deliveries.submit("slack", "Ev1", {})
    attempts: list[float] = []

    async def flaky(_payload: dict[str, Any]) -> None:
        attempts.append(time.monotonic())
        if len(attempts) == 1:
            raise ConnectionError("the engine's store is unreachable")

    worker = AnswerWorker(deliveries, {"slack": answering(flaky)}, poll_s=0.01)
    assert await run_until_settled(worker, timeout_s=5.0)
    assert len(attempts) == 2 and attempts[1] - attempts[0] >= 0.2
    assert "answering job" in caplog.text and "attempt 1" in caplog.text


async def test_a_failed_delivery_resends_the_kept_reply_without_answering_again(tmp_path):
    deliveries = queue(tmp_path, backoff=RetryBackoff(first_s=0.05))
    deliveries.submit("slack", "Ev1", {"text": "where is my order?"})
    answers: list[str] = []
    sent: list[Reply] = []
    failures = ["Slack answered HTTP 503", "cannot reach Slack"]

    async def answer(payload: dict[str, Any]) -> Reply:
        answers.append(payload["text"])
        return Reply(text="On its way.", citations=(Citation("d1", "Orders", "orders.md", 0.8, 1),), kind="faq")

    async def deliver(_payload: dict[str, Any], reply: Reply) -> None:
        if failures:
            raise DeliveryFailedError(failures.pop(0))
        sent.append(reply)

    worker = AnswerWorker(deliveries, {"slack": JobHandler(answer, deliver)}, poll_s=0.01)
    assert await run_until_settled(worker, timeout_s=5.0)
    assert answers == ["where is my order?"], "the engine ran once"
    assert sent == [Reply(text="On its way.", citations=(Citation("d1", "Orders", "orders.md", 0.8, 1),), kind="faq")]
    assert deliveries.undelivered() == []


async def test_a_delivery_that_keeps_failing_is_recorded_undelivered_and_counted(tmp_path):
    given_up: list[str] = []
    deliveries = queue(tmp_path, max_attempts=3, backoff=RetryBackoff(first_s=0.02), on_given_up=given_up.append)
    deliveries.submit("slack", "Ev1", {"text": "my card is 4111 1111 1111 1111"})
    tries: list[int] = []

    async def deliver(_payload: dict[str, Any], _reply: Reply) -> None:
        tries.append(1)
        raise DeliveryFailedError("cannot reach Slack to reply in C1: ClientConnectorError")

    worker = AnswerWorker(deliveries, {"slack": JobHandler(sorry, deliver)}, poll_s=0.01)
    assert await run_until_settled(worker, timeout_s=5.0)
    assert len(tries) == 3 and given_up == ["slack"]
    [record] = deliveries.undelivered()
    assert (record.source, record.delivery_id, record.attempts) == ("slack", "Ev1", 3)
    assert "cannot reach Slack" in record.reason and "after 3 attempts" in record.reason
    assert "4111" not in str(record)


async def test_a_permanent_failure_is_recorded_undelivered_without_retrying(tmp_path):
    deliveries = queue(tmp_path, backoff=RetryBackoff(first_s=0.02))
    deliveries.submit("slack", "Ev1", {})
    tries: list[int] = []

    async def deliver(_payload: dict[str, Any], _reply: Reply) -> None:
        tries.append(1)
        raise DeliveryFailedError("Slack refused the reply in C1: channel_not_found (HTTP 200)", permanent=True)

    worker = AnswerWorker(deliveries, {"slack": JobHandler(sorry, deliver)}, poll_s=0.01)
    assert await run_until_settled(worker, timeout_s=5.0)
    assert len(tries) == 1
    assert [record.reason for record in deliveries.undelivered()] == [
        "Slack refused the reply in C1: channel_not_found (HTTP 200)"
    ]


async def test_a_job_of_an_unknown_source_is_dropped_with_an_error(tmp_path, caplog):
    deliveries = queue(tmp_path)
    deliveries.submit("carrier-pigeon", "p1", {})
    assert await run_until_settled(AnswerWorker(deliveries, {}, poll_s=0.01))
    assert "no answer handler for 'carrier-pigeon'" in caplog.text
    assert [record.source for record in deliveries.undelivered()] == ["carrier-pigeon"]


async def test_stop_lets_running_answers_finish(tmp_path):
    deliveries = queue(tmp_path)
    done: list[int] = []

    async def slow(payload: dict[str, Any]) -> None:
        await asyncio.sleep(0.3)
        done.append(payload["n"])

    deliveries.submit("slack", "Ev1", {"n": 1})
    worker = AnswerWorker(deliveries, {"slack": answering(slow)}, poll_s=0.01)
    running = asyncio.create_task(worker.run())
    while worker.running == 0:
        await asyncio.sleep(0.01)
    await worker.stop(grace_s=5.0)
    await running
    assert done == [1]
    assert deliveries.waiting() == 0, "a finished answer is removed on stop"


async def test_an_acknowledged_event_is_answered_after_a_restart(http_runtime, fake_slack):
    """The process that acknowledged the event stops before answering it; the next one answers it."""
    first = create_app(
        build_context(http_runtime.adapter_context()), answers_elsewhere=True
    )  # acknowledges, answers nothing
    async with first.router.lifespan_context(first):
        transport = httpx.ASGITransport(app=first)
        async with httpx.AsyncClient(transport=transport, base_url="http://deskbot.test") as client:
            assert (await SlackSender(client).event(fixture("slack_app_mention.json"))).status_code == 200
    assert fake_slack.calls == []
    second = create_app(build_context(http_runtime.adapter_context()))
    async with second.router.lifespan_context(second):
        await answered(second.state.deskbot, 10)
    [call] = fake_slack.calls_to("chat.postMessage")
    assert call.params["thread_ts"] == "1515449522.000016"
