"""Defect 9: slow clients and more requests than the server can answer. A real uvicorn on loopback serves the app
with `deskbot serve`'s protocol and middleware: a request head that trickles in and a body that never arrives are
cut off after their timeouts, and requests beyond `max_in_flight` get 503 + Retry-After at once while the
operations routes and the other lanes (the Slack acknowledgements) still answer."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import httpx
import pytest
import uvicorn
from pydantic import SecretStr

from adapters.http.app import build_context, create_app
from adapters.http.context import ChannelContext
from adapters.http.read_timeouts import ProtocolWithHeaderDeadline
from adapters.http.serve_environment import HEADER_TIMEOUT_ENV
from bot.llm.fake import FakeLLM
from bot.runtime import Runtime
from tests.adapters.http.conftest import SIGNING_SECRET, fixture, json_body, slack_headers
from tests.deskbot_process import free_port

TIMEOUT_S = 1.0
MAX_IN_FLIGHT = 4
SLOW_CLIENTS = 50


@pytest.fixture
async def server(runtime: Runtime, fake_llm: FakeLLM, monkeypatch) -> AsyncIterator[tuple[str, ChannelContext]]:
    monkeypatch.setenv(HEADER_TIMEOUT_ENV, str(TIMEOUT_S))
    settings = runtime.settings
    settings.server.read_timeout_s = TIMEOUT_S
    settings.server.max_in_flight = MAX_IN_FLIGHT
    settings.server.shed_retry_after_s = 2
    settings.slack.signing_secret = SecretStr(SIGNING_SECRET)
    fake_llm.first_token_delay_s = 1.5
    app = create_app(build_context(runtime.adapter_context()))
    port = free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, http=ProtocolWithHeaderDeadline, log_level="warning", timeout_keep_alive=30
    )
    served = uvicorn.Server(config)
    serving = asyncio.create_task(served.serve())
    while not served.started:
        await asyncio.sleep(0.02)
    yield f"http://127.0.0.1:{port}", app.state.deskbot
    served.should_exit = True
    await serving


async def closed_by_server(reader: asyncio.StreamReader, within_s: float) -> bytes | None:
    """Everything the server sent before closing, or None if it kept the connection open past `within_s`."""
    received = b""
    try:
        async with asyncio.timeout(within_s):
            while chunk := await reader.read(65536):
                received += chunk
    except TimeoutError:
        return None
    return received


async def test_connections_whose_headers_never_complete_are_closed_after_the_timeout(server):
    url, _context = server
    port = int(url.rsplit(":", 1)[1])
    connections = [await asyncio.open_connection("127.0.0.1", port) for _ in range(SLOW_CLIENTS)]
    started = time.monotonic()

    async def trickle(writer: asyncio.StreamWriter, index: int) -> None:
        if index % 2:  # half send nothing at all, half send their head one header at a time, never finishing it
            return
        writer.write(b"POST /v1/chat HTTP/1.1\r\nHost: deskbot\r\n")
        for n in range(20):
            await asyncio.sleep(0.2)
            if writer.is_closing():
                return
            writer.write(f"X-Slow-{n}: 1\r\n".encode())

    trickling = [asyncio.create_task(trickle(writer, i)) for i, (_reader, writer) in enumerate(connections)]
    outcomes = await asyncio.gather(*(closed_by_server(reader, TIMEOUT_S * 4) for reader, _writer in connections))
    elapsed = time.monotonic() - started
    for task in trickling:
        task.cancel()
    for _reader, writer in connections:
        writer.close()
    assert all(outcome is not None for outcome in outcomes), f"{outcomes.count(None)} slow connections still open"
    assert TIMEOUT_S * 0.9 <= elapsed < TIMEOUT_S * 3
    async with httpx.AsyncClient(base_url=url) as client:
        assert (await client.get("/healthz")).status_code == 200, "the server still serves everyone else"


async def test_a_body_that_never_arrives_gets_408_and_the_connection_closes(server):
    url, _context = server
    reader, writer = await asyncio.open_connection("127.0.0.1", int(url.rsplit(":", 1)[1]))
    writer.write(
        b"POST /v1/chat HTTP/1.1\r\nHost: deskbot\r\nContent-Type: application/json\r\n"
        b"Content-Length: 1000\r\n\r\n" + b'{"message": "my order'
    )
    started = time.monotonic()
    received = await closed_by_server(reader, TIMEOUT_S * 4)
    writer.close()
    assert received is not None, "the server waits for the body for ever"
    assert received.startswith(b"HTTP/1.1 408 ")
    assert TIMEOUT_S * 0.9 <= time.monotonic() - started < TIMEOUT_S * 3


async def test_beyond_max_in_flight_requests_get_503_with_retry_after_at_once(server):
    url, context = server
    await context.responder.warm_up()
    key = context.api_keys.create("overload")
    headers = {"Authorization": f"Bearer {key}"}
    question = {"message": "How do I reset my Nimbus Thermo?"}
    async with httpx.AsyncClient(base_url=url, timeout=30.0) as client:
        held = [asyncio.create_task(client.post("/v1/chat", json=question, headers=headers)) for _ in range(4)]
        await asyncio.sleep(0.5)  # all four are waiting on the slow model
        shed = await client.post("/v1/chat", json=question, headers=headers)
        assert shed.status_code == 503 and shed.headers["Retry-After"] == "2"
        # at once: not after a slot came free (how fast is benchmarks/webhooks.py's overload row, not a unit test's)
        assert not any(task.done() for task in held), "the 503 waited for the requests in flight"
        assert (await client.get("/healthz")).status_code == 200
        assert (await client.get("/readyz")).status_code == 200
        body = json_body(fixture("slack_url_verification.json"))
        slack = {"Content-Type": "application/json", **slack_headers(body)}
        acknowledged = await client.post("/slack/events", content=body, headers=slack)
        assert acknowledged.status_code == 200, "slow chats never take the Slack acknowledgements' places"
        assert not any(task.done() for task in held), "the acknowledgement waited for the chats in flight"
        metrics = (await client.get("/metrics")).text
        assert "deskbot_http_shed_requests_total 1.0" in metrics
        answered = await asyncio.gather(*held)
        assert [response.status_code for response in answered] == [200] * 4
        assert (await client.post("/v1/chat", json=question, headers=headers)).status_code == 200, "admitted again"
