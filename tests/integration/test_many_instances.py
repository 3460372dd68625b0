"""Many instances, one database: two real `deskbot serve` processes (each with an answer process of its own) on one
PostgreSQL, on loopback, with the hash embedder and a FakeLLM (`tests.faults.serve_process`).

- Slack events and API calls spread over both are each answered once; a Slack retry sent to the other instance is
  not answered again (the delivery queue and its de-duplication live in the database).
- kill -9 one instance and its answer process while it holds leased jobs: the other answers them once the lease ends.
- The API's per-key limit and the guard's per-user limit hold when requests alternate between the instances
  (`[store] rate_limits`: in the database, the default for a PostgreSQL store).
"""

from __future__ import annotations

import asyncio
import json
import math
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text

from adapters.http.api_keys import ApiKeys
from adapters.http.slack.fake_web_api import FakeSlackWebApi
from bot.store.database import Database
from tests.adapters.http.conftest import fixture, slack_headers
from tests.faults.serve_process import ServeProcess, alive, wait_gone
from tests.postgres_server import database_of_its_own

pytestmark = pytest.mark.integration

LEASE_S = 4.0
RATE_WINDOW_S = 3600.0  # long enough that a test never sees a window end (`outside_a_window_end`)
API_LIMIT = 6
GUARD_LIMIT = 4
RATE_LIMITED = "You're sending messages faster than I can answer."


@pytest.fixture
def store_url(postgres_url: str) -> Iterator[str]:
    """A database of its own on the test PostgreSQL, so that no other test's queued jobs are in it."""
    with database_of_its_own(postgres_url, "instances") as url:
        yield url


def instance(folder: Path, store_url: str, slack_api_url: str, llm_delay_s: float = 0.0) -> ServeProcess:
    folder.mkdir()
    serve = ServeProcess(
        folder,
        slack_api_url,
        llm_delay_s,
        answer_processes="1",
        answer_concurrency="4",
        answer_lease_s=str(LEASE_S),
        api_rate_limit_requests=str(API_LIMIT),
        api_rate_limit_window_s=str(RATE_WINDOW_S),
    )
    serve.env.update(
        {
            "DESKBOT_STORE__URL": store_url,
            "DESKBOT_GUARD__RATE_LIMIT_MESSAGES": str(GUARD_LIMIT),
            "DESKBOT_GUARD__RATE_LIMIT_WINDOW_S": str(RATE_WINDOW_S),
        }
    )
    return serve


async def started(*instances: ServeProcess) -> None:
    for serve in instances:
        serve.start()
    await asyncio.gather(*(serve.wait_ready() for serve in instances))


def stop(*instances: ServeProcess) -> None:
    for serve in instances:
        for process in alive(serve.descendants()):
            process.kill()
        serve.stop()


def mention(index: int, user: str) -> bytes:
    payload = fixture("slack_app_mention.json")
    payload["event_id"] = f"EvMany{index:04d}"
    payload["event"]["user"] = user
    payload["event"]["ts"] = payload["event"]["event_ts"] = f"1700000000.{index:06d}"
    return json.dumps(payload).encode()


async def post_event(url: str, body: bytes, retry: int = 0) -> None:
    headers = {"Content-Type": "application/json", **slack_headers(body)}
    if retry:
        headers |= {"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_timeout"}
    async with httpx.AsyncClient(timeout=10.0) as client:
        response = await client.post(f"{url}/slack/events", content=body, headers=headers)
    assert response.status_code == 200, response.text


async def chat(url: str, key: str, user: str) -> httpx.Response:
    async with httpx.AsyncClient(timeout=30.0) as client:
        return await client.post(
            f"{url}/v1/chat",
            json={"message": "What is the returns policy?", "user_id": user},
            headers={"Authorization": f"Bearer {key}"},
        )


def replied_threads(fake_slack: FakeSlackWebApi) -> list[str]:
    return sorted(call.params["thread_ts"] for call in fake_slack.calls_to("chat.postMessage"))


def scalar(url: str, sql: str) -> int:
    engine = create_engine(url)
    with engine.connect() as connection:
        value = int(connection.execute(text(sql)).scalar_one())
    engine.dispose()
    return value


async def outside_a_window_end() -> None:
    """Fixed windows restart every RATE_WINDOW_S: wait out the last seconds of one, so a test sees a single window."""
    left = math.ceil(time.time() / RATE_WINDOW_S) * RATE_WINDOW_S - time.time()
    if left < 15.0:
        await asyncio.sleep(left + 0.1)


@pytest.mark.slow
async def test_two_instances_answer_each_event_and_call_once_and_share_the_rate_limits(tmp_path, store_url, fake_slack):
    first = instance(tmp_path / "first", store_url, fake_slack.api_url)
    second = instance(tmp_path / "second", store_url, fake_slack.api_url)
    keys = ApiKeys(Database(store_url))
    spread_key, limited_key = keys.create("spread"), keys.create("limited")
    try:
        await started(first, second)
        urls = [first.url, second.url]
        await outside_a_window_end()

        # Slack: each event to one instance, Slack's retry of it to the other; each answered once.
        events = 16
        bodies = [mention(index, f"U{index:04d}") for index in range(events)]
        await asyncio.gather(*(post_event(urls[index % 2], body) for index, body in enumerate(bodies)))
        await asyncio.gather(*(post_event(urls[(index + 1) % 2], body, 1) for index, body in enumerate(bodies)))
        await fake_slack.wait_for_calls(events, timeout_s=30.0)

        # API: calls alternating between the instances, each answered once.
        calls = [chat(urls[index % 2], spread_key, f"customer-{index}") for index in range(API_LIMIT)]
        answered = await asyncio.gather(*calls)
        assert [response.status_code for response in answered] == [200] * API_LIMIT
        conversations = {response.json()["conversation_id"] for response in answered}
        assert len(conversations) == API_LIMIT
        listed = ", ".join(f"'api:spread:{conversation}'" for conversation in conversations)  # stored per key
        stored = f"SELECT count(*) FROM messages WHERE role = 'assistant' AND conversation_id IN ({listed})"
        assert scalar(store_url, stored) == API_LIMIT
        await asyncio.sleep(1.0)  # a second reply to any event would have arrived by now
        assert replied_threads(fake_slack) == sorted(f"1700000000.{index:06d}" for index in range(events))

        # The API key's limit, alternating: one count across both instances (each alone would allow API_LIMIT).
        statuses = [(await chat(urls[index % 2], limited_key, "same")).status_code for index in range(API_LIMIT + 4)]
        assert statuses == [200] * API_LIMIT + [429] * 4

        # The guard's per-user limit, alternating over the instances and answered by either answer process.
        before = len(fake_slack.calls_to("chat.postMessage"))
        flood = [mention(100 + index, "UFLOOD") for index in range(GUARD_LIMIT + 3)]
        for index, body in enumerate(flood):
            await post_event(urls[index % 2], body)
        await fake_slack.wait_for_calls(before + len(flood), timeout_s=30.0)
        texts = [call.params["text"] for call in fake_slack.calls_to("chat.postMessage")[before:]]
        assert sum(RATE_LIMITED in reply for reply in texts) == 3, texts
    finally:
        stop(first, second)


@pytest.mark.slow
async def test_after_kill_9_of_one_instance_the_other_answers_its_leased_jobs_once(tmp_path, store_url, fake_slack):
    # The first answers slowly (under the lease), so it still holds jobs when it is killed; the second answers at once.
    slow = instance(tmp_path / "slow", store_url, fake_slack.api_url, llm_delay_s=LEASE_S - 1.0)
    fast = instance(tmp_path / "fast", store_url, fake_slack.api_url)
    try:
        await started(slow, fast)
        events = 12
        bodies = [mention(index, f"U{index:04d}") for index in range(events)]
        await asyncio.gather(*(post_event([slow.url, fast.url][index % 2], body) for index, body in enumerate(bodies)))
        held = await jobs_held_once_the_rest_is_answered(store_url, fake_slack, events)
        assert held >= 1, "the slow instance took no job: the test tests nothing"
        killed_at = time.monotonic()
        processes = slow.descendants()
        slow.kill()
        for process in alive(processes):
            process.kill()
        assert await wait_gone(processes, 5.0) == []
        assert len(fake_slack.calls_to("chat.postMessage")) == events - held

        await fake_slack.wait_for_calls(events, timeout_s=LEASE_S + 15.0)
        assert time.monotonic() - killed_at < LEASE_S + 10.0
        await asyncio.sleep(1.0)  # a second reply to any event would have arrived by now
        assert replied_threads(fake_slack) == sorted(f"1700000000.{index:06d}" for index in range(events))
    finally:
        stop(slow, fast)


async def jobs_held_once_the_rest_is_answered(store_url: str, fake_slack: FakeSlackWebApi, events: int) -> int:
    """Wait until every event is answered or held (taken, unanswered) and that stays so; how many are held."""
    deadline = time.monotonic() + 20.0
    steady_since, last = time.monotonic(), -1
    while time.monotonic() < deadline:
        taken = scalar(store_url, "SELECT count(*) FROM answer_jobs WHERE state = 'taken'")
        pending = scalar(store_url, "SELECT count(*) FROM answer_jobs WHERE state <> 'taken'")
        answered = len(fake_slack.calls_to("chat.postMessage"))
        settled = pending == 0 and taken + answered == events
        if not settled or taken != last:
            steady_since, last = time.monotonic(), taken
        elif time.monotonic() - steady_since > 0.3:
            return taken
        await asyncio.sleep(0.05)
    raise AssertionError("the events were neither answered nor held in 20 s")
