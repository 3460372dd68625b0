"""A real `deskbot serve` (HTTP process + one answer process) answers its chat turns in the answer process, through
the answer channel: replies come back whole and streams in pieces, counted in /metrics; beyond its places a turn is
refused with 503 + Retry-After at once; a client that disconnects cancels its turn (no reply is written or stored);
an answer process killed mid-turn gives its caller a 503 (no hang, no 500), and once serve has restarted it the next
turn is answered."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from collections.abc import AsyncIterator

import httpx
import psutil
import pytest

from tests.faults.serve_process import ServeProcess, alive

pytestmark = pytest.mark.slow

LLM_DELAY_S = 1.0
QUESTION = {"message": "How do I reset my Nimbus Thermo?"}


@pytest.fixture
async def serve(tmp_path) -> AsyncIterator[ServeProcess]:
    serve = ServeProcess(
        tmp_path,
        "http://127.0.0.1:9/",  # no Slack here
        llm_delay_s=LLM_DELAY_S,
        answer_processes="1",
        chat_turns_per_answer_process="2",
        chat_queue="0",
        shed_retry_after_s="2",
        api_rate_limit_requests="100000",
    )
    serve.env["DESKBOT_SERVE_RUNTIME"] = "tests.faults.talkative_runtime:talkative_runtime"
    serve.env["DESKBOT_GUARD__RATE_LIMIT_MESSAGES"] = "100000"
    serve.start()
    try:
        await serve.wait_ready()
        yield serve
    finally:
        started = serve.descendants()
        serve.stop()
        for process in alive(started):
            process.kill()


def api_key(serve: ServeProcess) -> dict[str, str]:
    created = subprocess.run(
        [sys.executable, "-m", "bot", "keys", "create", "faults"],
        cwd=serve.folder,
        env=serve.env,
        capture_output=True,
        text=True,
        check=True,
    )
    return {"Authorization": f"Bearer {created.stdout.strip()}"}


def answer_process(serve: ServeProcess) -> psutil.Process:
    [answers] = [p for p in serve.descendants() if "spawn_main" in " ".join(p.cmdline())]
    return answers


async def timed_events(client: httpx.AsyncClient, headers: dict[str, str]) -> list[tuple[float, str]]:
    """The stream's events (name, when it arrived, in seconds from the request)."""
    started = time.monotonic()
    arrived: list[tuple[float, str]] = []
    async with client.stream("POST", "/v1/chat/stream", json=QUESTION, headers=headers) as response:
        assert response.status_code == 200
        async for line in response.aiter_lines():
            if line.startswith("event: "):
                arrived.append((time.monotonic() - started, line.removeprefix("event: ")))
    return arrived


async def test_chat_turns_are_answered_by_the_answer_process_and_refused_beyond_its_places(serve):
    headers = api_key(serve)
    async with httpx.AsyncClient(base_url=serve.url, timeout=30.0) as client:
        chat = await client.post("/v1/chat", json={**QUESTION, "conversation_id": "c-1"}, headers=headers)
        assert chat.status_code == 200 and chat.json()["conversation_id"] == "c-1"
        assert chat.json()["citations"] and "Nimbus" in chat.json()["answer"]

        events = await timed_events(client, headers)
        names = [name for _at, name in events]
        assert names.count("delta") >= 2 and names[-1] == "reply", names
        assert events[-1][0] - events[0][0] > 0.5, f"the stream came in one piece: {events}"

        metrics = (await client.get("/metrics")).text
        assert 'deskbot_replies_total{channel="api",kind="answer"} 2.0' in metrics  # counted in the answer process

        # Two places: two turns hold them, the next ones are refused at once.
        holding = [asyncio.create_task(client.post("/v1/chat", json=QUESTION, headers=headers)) for _ in range(2)]
        await asyncio.sleep(0.3)
        for _ in range(4):
            started = time.monotonic()
            refused = await client.post("/v1/chat", json=QUESTION, headers=headers)
            assert refused.status_code == 503 and refused.headers["Retry-After"] == "2"
            assert time.monotonic() - started < 0.5
        assert [(await turn).status_code for turn in holding] == [200, 200]
        assert "deskbot_http_shed_requests_total 4.0" in (await client.get("/metrics")).text


async def test_a_client_that_leaves_cancels_its_turn_and_an_answer_process_killed_mid_turn_is_a_503(serve):
    headers = api_key(serve)
    body = json.dumps({**QUESTION, "conversation_id": "left"}).encode()
    _reader, writer = await asyncio.open_connection("127.0.0.1", serve.port)
    head = (
        f"POST /v1/chat HTTP/1.1\r\nHost: deskbot\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n"
    )
    writer.write((head + f"Authorization: {headers['Authorization']}\r\n\r\n").encode() + body)
    await writer.drain()
    await asyncio.sleep(0.3)  # the turn waits for the LLM's first word (1 s)
    writer.close()
    await asyncio.sleep(LLM_DELAY_S + 3.0)  # a turn left running would be answered and stored by now
    async with httpx.AsyncClient(base_url=serve.url, timeout=30.0) as client:
        thread = (await client.get("/v1/conversations/left/messages", headers=headers)).json()
        assert [message["role"] for message in thread["messages"]] == ["user"]  # cancelled before any reply
    assert "its turn is cancelled" in serve.log.read_text()

    # An answer process killed mid-turn: its caller gets a 503 at once; the restarted one answers the next turn.
    async with httpx.AsyncClient(base_url=serve.url, timeout=30.0) as client:
        for path in ("/v1/chat", "/v1/chat/stream"):
            turn = asyncio.create_task(client.post(path, json=QUESTION, headers=headers))
            await asyncio.sleep(0.3)
            answer_process(serve).kill()
            killed_at = time.monotonic()
            response = await turn
            assert response.status_code == 503 and response.headers["Retry-After"] == "2", response.text
            assert "stopped during the turn" in response.json()["detail"]
            assert time.monotonic() - killed_at < 2.0
            deadline = time.monotonic() + 5.0
            while (await client.get("/readyz")).status_code == 200:  # until serve saw it die (then restarts it)
                assert time.monotonic() < deadline, "/readyz still says ready without an answer process"
                await asyncio.sleep(0.1)
            await serve.wait_ready()
            answered = await client.post(path, json=QUESTION, headers=headers)
            assert answered.status_code == 200
